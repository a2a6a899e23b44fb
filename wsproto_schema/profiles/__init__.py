"""Wire profiles: the canonical protocol in the shapes of frontends that already exist.

    FlowwireApp(wire_profile="type-data")          # every connection of the mount
    UrlSubscription("/workflow/{workflow_id}", topics=[...], profile="type-data")

See docs/migrating.md for each profile's mapping and what it drops.
"""

from __future__ import annotations

from .base import Profile, ProfileCodec, iso_ts
from .event_cmd import EventCmdProfile
from .event_data import EventDataProfile
from .flat_type import FlatTypeProfile
from .type_data import TypeDataProfile
from .type_payload import TypePayloadProfile

__all__ = ["PROFILES", "Profile", "ProfileCodec", "iso_ts", "profile_named"]

PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        TypeDataProfile(),
        TypePayloadProfile(),
        FlatTypeProfile(),
        EventCmdProfile(),
        EventDataProfile(),
    )
}
"""Every profile, by name."""


def profile_named(name: str) -> Profile:
    """The profile of that name; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"no wire profile {name!r}: one of {sorted(PROFILES)}") from None
