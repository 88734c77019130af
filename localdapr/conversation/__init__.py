"""Conversation API with the ``conversation.echo`` component (spec I)."""
