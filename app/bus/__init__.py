"""Event bus backends behind one interface."""

from app.bus.base import EventBus, SubscriberOverflow, Subscription


def make_bus(backend: str, database_url: str) -> EventBus:
    if backend == "postgres":
        from app.bus.postgres import PostgresBus

        return PostgresBus(database_url)
    return EventBus()


__all__ = ["EventBus", "SubscriberOverflow", "Subscription", "make_bus"]
