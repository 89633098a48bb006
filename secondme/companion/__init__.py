"""The proactive companion: working memory, follow-ups, scheduled check-ins and the daily digest."""
