"""YAML reading and writing for configuration files, without YAML 1.1's traps.

Times like 07:30 would load as the sexagesimal integer 450 under PyYAML's default resolver, and
shared objects would be written as anchors; both are switched off here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


# Drop the sexagesimal int/float resolvers: "07:30" stays a string. Work on a copy: the
# inherited dict is shared with PyYAML's own SafeLoader/SafeDumper, and changing it in place
# made yaml.safe_load read every integer as a string (and the dumper write `!!int '1'`).
_Loader.yaml_implicit_resolvers = {
    k: list(v) for k, v in _Loader.yaml_implicit_resolvers.items()
}
for _first, _resolvers in list(_Loader.yaml_implicit_resolvers.items()):
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, rx) for tag, rx in _resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") or not rx.match("1:30")
    ]
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"),
                              list("-+0123456789"))

_TIME_LIKE = re.compile(r"^\d{1,2}:\d{2}")


def _plain(data: str) -> Any:
    try:
        return yaml.load(data, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return None


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = None
    if _TIME_LIKE.match(data) or data == "" or not isinstance(_plain(data), str):
        style = '"'
    if "\n" in data:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
