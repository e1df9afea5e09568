import pytest

from exercises.base_library import base_library_ensure


@pytest.fixture(autouse=True)
def base_library(db) -> None:
    """The base library a data migration loads: gone after a transactional test's flush on the
    same worker, so loaded again when missing."""
    base_library_ensure()
