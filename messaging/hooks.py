"""What messaging plugs into the layers below it, registered once from MessagingConfig.ready():
the chat's demo data (clinics.demo)."""

from clinics.demo import demo_seeder_register
from messaging.demo import chat_demo_seed


def register_all() -> None:
    demo_seeder_register(chat_demo_seed)
