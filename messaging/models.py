# Conversations (confidential counsellor chat, clinic messages) arrive with the chat issue.
