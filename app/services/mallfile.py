"""Configuration as a file: the YAML of `mpp config export` / `mpp config import` and the demo.

The format is the one of app/data/demo_mall.yaml: sites, each with its special days, agencies
(with their services), counters, users and display boards. Things are matched by their codes:
a site by `code`, an agency and a service by `code` within the site, a counter by agency and
number, a user by `username`, a board by name within the site, a special day by date.

Import rules:
- everything is checked first (types, ranges, references, clashes), with the line of the bad
  item; then the changes are applied in one transaction through the same services the API
  uses, so a database-level clash also rolls everything back;
- importing the same file twice changes nothing (no rows, no audit entries);
- within a site of the file, agencies, services, counters and boards absent from the file are
  deactivated (never deleted) and absent special days are removed; sites absent from the file
  and users absent from the file are left alone;
- users are exported without passwords; import creates missing users with a random password
  that is returned (and printed) once. Devices are not exported: their tokens are secrets, so
  issue new ones after moving to another server.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, DisplayBoard, Service, Site, SpecialDay, User
from app.domain import hours, numbering
from app.domain import limits as L
from app.domain.errors import DomainError
from app.services import config, yamlio
from app.services.context import Ctx, Principal
from app.services.special_days import validate_ranges

SYSTEM = Principal(kind="system", id=0, role="admin", name="system")
FORMAT_VERSION = 1

Path_ = tuple[str | int, ...]

SERVICE_TEXT = ("requirements", "procedure", "completion_time", "fee", "product", "complaints")
# Booking settings (and the per-service priority for the sick) with their defaults: written
# to the file only when they differ.
BOOKING_DEFAULTS: dict[str, Any] = {
    "booking_enabled": False, "slot_minutes": 30, "slot_capacity": 5, "booking_days_ahead": 7,
    "booking_quota_percent": 50, "booking_requires_contact": False, "priority_sick": False,
    "requires_phone_otp": False,
}
BOOKING_RANGES = {"slot_minutes": (5, 240), "slot_capacity": (1, 1000),
                  "booking_days_ahead": (0, 90), "booking_quota_percent": (0, 100)}
SITE_KEYS = {"code", "name", "timezone", "address", "max_consecutive_priority",
             "require_display_token", "active", "special_days", "agencies", "counters", "users",
             "boards", "packages", "visit_requeue", "visit_no_show_cancels"}
PACKAGE_KEYS = {"code", "name", "description", "services", "active"}
AGENCY_KEYS = {"code", "name", "floor", "zone", "color", "active", "services"}
SERVICE_KEYS = {"code", "name", "prefix", "daily_quota", "typical_minutes", "opening_hours",
                *SERVICE_TEXT, *BOOKING_DEFAULTS, "active"}
COUNTER_KEYS = {"agency", "name", "number", "zone", "services", "active"}
USER_KEYS = {"username", "full_name", "role", "agency", "all_sites", "active"}
BOARD_KEYS = {"name", "zone", "agencies", "layout", "running_text", "active"}
SPECIAL_KEYS = {"day", "ranges", "note"}
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


# --- errors with a line -----------------------------------------------------------------------


def path_text(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(dokumen)"


class ConfigFileError(Exception):
    """What is wrong in the file, and where (line 1-based, and the path of the item)."""

    def __init__(self, path: Path_, line: int | None, message_id: str,
                 message_en: str | None = None) -> None:
        self.path = path
        self.line = line
        self.message_id = message_id
        self.message_en = message_en or message_id
        super().__init__(self.text("en"))

    def text(self, lang: str = "id", filename: str | None = None) -> str:
        where = f"{filename or ''}:{self.line}" if self.line else (filename or "")
        msg = self.message_en if lang == "en" else self.message_id
        loc = path_text(self.path) if self.path else ""
        head = ": ".join(x for x in (where.lstrip(":") if not filename else where, loc) if x)
        return f"{head}: {msg}" if head else msg


class LineMap:
    """Path in the document -> line number (1-based) of that node."""

    def __init__(self, lines: dict[Path_, int] | None = None) -> None:
        self.lines = lines or {}

    def line(self, path: Path_) -> int | None:
        # The closest enclosing node that has a line (a missing key points at its parent).
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None


def _walk(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out.setdefault(path + (key.value,), key.start_mark.line + 1)
                _walk(value, path + (key.value,), out)
                out[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), out)


def parse(text: str) -> tuple[Any, LineMap]:
    """Load YAML text; a syntax error becomes a ConfigFileError with its line."""
    try:
        node = yaml.compose(text, Loader=yamlio._Loader)  # noqa: S506 - a SafeLoader subclass
        doc = yamlio.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.problem_mark \
                and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context}, baris/line {exc.context_mark.line + 1})"
        raise ConfigFileError((), line, f"YAML tidak valid: {problem}",
                              f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError((), None, f"YAML tidak valid: {exc}", f"invalid YAML: {exc}"
                              ) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return doc, LineMap(lines)


# --- export -------------------------------------------------------------------------------------


def export_mall(session: Session) -> dict[str, Any]:
    """The whole configuration as a document; export → import → export gives the same text."""
    sites = list(session.scalars(sa.select(Site).order_by(Site.id)))
    agencies = list(session.scalars(sa.select(Agency).order_by(Agency.id)))
    services = list(session.scalars(sa.select(Service).order_by(Service.id)))
    counters = list(session.scalars(sa.select(Counter).order_by(Counter.id)).unique())
    users = list(session.scalars(sa.select(User).order_by(User.id)))
    boards = list(session.scalars(sa.select(DisplayBoard).order_by(DisplayBoard.id)))
    specials = list(session.scalars(sa.select(SpecialDay).order_by(SpecialDay.day)))
    from app.db.models import ServicePackage

    packages = list(session.scalars(sa.select(ServicePackage).order_by(ServicePackage.id)))
    agency_code = {a.id: a.code for a in agencies}
    agency_site = {a.id: a.site_id for a in agencies}
    first_site = sites[0].id if sites else None

    def user_site(u: User) -> int | None:
        if u.agency_id is not None:
            return agency_site.get(u.agency_id)
        if u.site_id is not None:
            return u.site_id
        # Admins (and managers of every site) belong to no site; they are listed in the first.
        return first_site

    out_sites = []
    for site in sites:
        s: dict[str, Any] = {
            "code": site.code, "name": site.name, "timezone": site.timezone,
            "address": site.address, "max_consecutive_priority": site.max_consecutive_priority,
        }
        if site.require_display_token:
            s["require_display_token"] = True
        if not site.is_active:
            s["active"] = False
        s["special_days"] = [
            {"day": d.day.isoformat(), "ranges": [list(r) for r in (d.ranges or [])],
             "note": d.note}
            for d in specials if d.site_id == site.id]
        s["agencies"] = []
        for a in agencies:
            if a.site_id != site.id:
                continue
            entry: dict[str, Any] = {"code": a.code, "name": a.name, "floor": a.floor,
                                     "zone": a.zone, "color": a.color}
            if not a.is_active:
                entry["active"] = False
            entry["services"] = [_export_service(sv) for sv in services if sv.agency_id == a.id]
            s["agencies"].append(entry)
        s["counters"] = []
        for c in counters:
            if agency_site.get(c.agency_id) != site.id:
                continue
            entry = {"agency": agency_code[c.agency_id], "name": c.name, "number": c.number,
                     "zone": c.zone,
                     "services": [sv.code for sv in sorted(c.services, key=lambda x: x.id)]}
            if not c.is_active:
                entry["active"] = False
            s["counters"].append(entry)
        s["users"] = []
        for u in users:
            if user_site(u) != site.id:
                continue
            entry = {"username": u.username, "full_name": u.full_name, "role": u.role}
            if u.agency_id is not None:
                entry["agency"] = agency_code[u.agency_id]
            if u.role == "manager" and u.agency_id is None and u.site_id is None:
                entry["all_sites"] = True
            if not u.is_active:
                entry["active"] = False
            s["users"].append(entry)
        if site.visit_requeue != "original":
            s["visit_requeue"] = site.visit_requeue
        if site.visit_no_show_cancels:
            s["visit_no_show_cancels"] = True
        site_packages = [p for p in packages if p.site_id == site.id]
        if site_packages:
            code_of = {sv.id: sv.code for sv in services}
            s["packages"] = []
            for p in site_packages:
                entry = {"code": p.code, "name": p.name, "description": p.description,
                         "services": [code_of[i] for i in p.service_ids if i in code_of]}
                if not p.is_active:
                    entry["active"] = False
                s["packages"].append(entry)
        site_boards = [b for b in boards if b.site_id == site.id]
        if site_boards:
            s["boards"] = []
            for b in site_boards:
                entry = {"name": b.name, "zone": b.zone,
                         "agencies": [agency_code[i] for i in (b.agency_ids or [])
                                      if i in agency_code],
                         "layout": b.layout, "running_text": b.running_text}
                if not b.is_active:
                    entry["active"] = False
                s["boards"].append(entry)
        out_sites.append(s)
    return {"version": FORMAT_VERSION, "sites": out_sites}


def _export_service(sv: Service) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": sv.code, "name": sv.name, "prefix": sv.prefix, "daily_quota": sv.daily_quota,
        "typical_minutes": sv.typical_minutes, "opening_hours": sv.opening_hours,
    }
    for key in SERVICE_TEXT:
        entry[key] = getattr(sv, key)
    for key, default in BOOKING_DEFAULTS.items():
        if getattr(sv, key) != default:
            entry[key] = getattr(sv, key)
    if not sv.is_active:
        entry["active"] = False
    return entry


def dump(doc: dict[str, Any]) -> str:
    header = ("# MPP configuration (mpp config export). Passwords and device tokens are never\n"
              "# written here; `mpp config import` makes passwords for new users.\n")
    return header + yamlio.dump(doc)


# --- checking the file ------------------------------------------------------------------------


class _Checker:
    def __init__(self, lines: LineMap) -> None:
        self.lines = lines

    def fail(self, path: Path_, message_id: str, message_en: str) -> ConfigFileError:
        return ConfigFileError(path, self.lines.line(path), message_id, message_en)

    @contextmanager
    def at(self, path: Path_) -> Iterator[None]:
        """Turn a DomainError raised by a shared validator into a located error."""
        try:
            yield
        except DomainError as err:
            field_ = err.params.get("field") if err.code == "invalid_value" else None
            where = path + (field_,) if field_ and path + (field_,) in self.lines.lines else path
            raise ConfigFileError(where, self.lines.line(where), err.message("id"),
                                  err.message("en")) from None

    def mapping(self, value: Any, path: Path_, allowed: set[str], required: tuple[str, ...]
                ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "harus berupa objek (kunci: nilai)", "must be a mapping")
        for key in value:
            if key not in allowed:
                raise self.fail(path + (str(key),), f"kunci '{key}' tidak dikenal",
                                f"unknown key '{key}'")
        for key in required:
            if value.get(key) in (None, ""):
                raise self.fail(path + (key,) if key in value else path,
                                f"'{key}' wajib diisi", f"'{key}' is required")
        return value

    def seq(self, value: Any, path: Path_) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, "harus berupa daftar", "must be a list")
        return value

    def text(self, item: dict[str, Any], key: str, path: Path_, max_len: int,
             required: bool = False) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                raise self.fail(path + (key,), f"'{key}' wajib diisi", f"'{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path + (key,), "harus berupa teks", "must be text")
        value = str(value)
        if len(value) > max_len:
            raise self.fail(path + (key,), f"paling banyak {max_len} karakter",
                            f"at most {max_len} characters")
        return value

    def integer(self, item: dict[str, Any], key: str, path: Path_, lo: int, hi: int,
                nullable: bool = False) -> int | None:
        value = item.get(key)
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path + (key,), "harus berupa bilangan bulat", "must be an integer")
        if not lo <= value <= hi:
            if key == "daily_quota" and value < 0:
                raise self.fail(path + (key,), "kuota tidak boleh negatif",
                                "quota cannot be negative")
            raise self.fail(path + (key,), f"harus antara {lo} dan {hi}",
                            f"must be between {lo} and {hi}")
        return value

    def boolean(self, item: dict[str, Any], key: str, path: Path_, default: bool) -> bool:
        value = item.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path + (key,), "harus true atau false", "must be true or false")
        return value

    def code(self, item: dict[str, Any], key: str, path: Path_) -> str:
        value = self.text(item, key, path, L.CODE, required=True)
        assert value is not None
        if not _CODE.match(value):
            raise self.fail(path + (key,), "kode hanya boleh huruf, angka, titik, - dan _",
                            "a code may hold only letters, digits, '.', '-' and '_'")
        return value


@dataclass
class _Plan:
    """The checked, normalised content of one site."""

    path: Path_
    site: dict[str, Any]
    specials: list[tuple[Path_, date, list[list[str]], str | None]] = field(default_factory=list)
    agencies: list[tuple[Path_, dict[str, Any]]] = field(default_factory=list)
    services: list[tuple[Path_, str, dict[str, Any]]] = field(default_factory=list)
    counters: list[tuple[Path_, str, dict[str, Any], list[str]]] = field(default_factory=list)
    users: list[tuple[Path_, dict[str, Any]]] = field(default_factory=list)
    boards: list[tuple[Path_, dict[str, Any], list[str]]] = field(default_factory=list)
    packages: list[tuple[Path_, dict[str, Any], list[str]]] = field(default_factory=list)


def check(doc: Any, lines: LineMap | None = None, *, always_open: bool = False) -> list[_Plan]:
    """Validate the whole document before anything is written; raise ConfigFileError."""
    ck = _Checker(lines or LineMap())
    root = ck.mapping(doc, (), {"version", "sites"}, ("sites",))
    if root.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ck.fail(("version",), f"versi format harus {FORMAT_VERSION}",
                      f"the format version must be {FORMAT_VERSION}")
    plans: list[_Plan] = []
    site_codes: set[str] = set()
    usernames: set[str] = set()
    for si, s in enumerate(ck.seq(root["sites"], ("sites",))):
        sp: Path_ = ("sites", si)
        ck.mapping(s, sp, SITE_KEYS, ("code", "name"))
        code = ck.code(s, "code", sp)
        if code in site_codes:
            raise ck.fail(sp + ("code",), f"kode lokasi '{code}' ganda di berkas",
                          f"site code '{code}' appears twice in the file")
        site_codes.add(code)
        tz = ck.text(s, "timezone", sp, L.TIMEZONE) or "Asia/Jakarta"
        with ck.at(sp + ("timezone",)):
            numbering.validate_timezone(tz)
        plan = _Plan(path=sp, site={
            "code": code, "name": ck.text(s, "name", sp, L.NAME, required=True), "timezone": tz,
            "address": ck.text(s, "address", sp, L.ADDRESS),
            "max_consecutive_priority": ck.integer(s, "max_consecutive_priority", sp, 1, 100,
                                                   nullable=True)
            if "max_consecutive_priority" in s else 3,
            "require_display_token": ck.boolean(s, "require_display_token", sp, False),
            "visit_requeue": ck.text(s, "visit_requeue", sp, L.VISIT_REQUEUE) or "original",
            "visit_no_show_cancels": ck.boolean(s, "visit_no_show_cancels", sp, False),
            "is_active": ck.boolean(s, "active", sp, True),
        })
        if plan.site["visit_requeue"] not in ("original", "back"):
            raise ck.fail(sp + ("visit_requeue",), "visit_requeue harus original atau back",
                          "visit_requeue must be original or back")
        days: set[date] = set()
        for di, d in enumerate(ck.seq(s.get("special_days"), sp + ("special_days",))):
            dp = sp + ("special_days", di)
            ck.mapping(d, dp, SPECIAL_KEYS, ("day",))
            raw_day = d["day"]
            try:
                day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
            except ValueError:
                raise ck.fail(dp + ("day",), f"tanggal '{raw_day}' tidak valid (YYYY-MM-DD)",
                              f"invalid date '{raw_day}' (YYYY-MM-DD)") from None
            if day in days:
                raise ck.fail(dp + ("day",), f"tanggal {day} ganda", f"date {day} twice")
            days.add(day)
            with ck.at(dp + ("ranges",)):
                ranges = validate_ranges(ck.seq(d.get("ranges"), dp + ("ranges",)))
            plan.specials.append((dp, day, ranges, ck.text(d, "note", dp, L.NOTE)))
        agency_codes: set[str] = set()
        service_codes: dict[str, Path_] = {}
        prefixes: dict[str, str] = {}
        for ai, a in enumerate(ck.seq(s.get("agencies"), sp + ("agencies",))):
            ap = sp + ("agencies", ai)
            ck.mapping(a, ap, AGENCY_KEYS, ("code", "name"))
            acode = ck.code(a, "code", ap)
            if acode in agency_codes:
                raise ck.fail(ap + ("code",), f"kode instansi '{acode}' ganda di lokasi ini",
                              f"agency code '{acode}' appears twice at this site")
            agency_codes.add(acode)
            color = ck.text(a, "color", ap, L.COLOR)
            if color is not None and not _COLOR.match(color):
                raise ck.fail(ap + ("color",), "warna harus #RRGGBB", "colour must be #RRGGBB")
            plan.agencies.append((ap, {
                "code": acode, "name": ck.text(a, "name", ap, L.NAME, required=True),
                "floor": ck.text(a, "floor", ap, L.FLOOR), "zone": ck.text(a, "zone", ap, L.ZONE),
                "color": color, "is_active": ck.boolean(a, "active", ap, True)}))
            for vi, sv in enumerate(ck.seq(a.get("services"), ap + ("services",))):
                vp = ap + ("services", vi)
                plan.services.append((vp, acode, _check_service(ck, sv, vp, always_open)))
                scode = plan.services[-1][2]["code"]
                if scode in service_codes:
                    raise ck.fail(vp + ("code",), f"kode layanan '{scode}' ganda di lokasi ini",
                                  f"service code '{scode}' appears twice at this site")
                service_codes[scode] = vp
                prefix = plan.services[-1][2]["prefix"]
                if prefix in prefixes:
                    err = DomainError("prefix_taken", prefix=prefix)
                    raise ck.fail(vp + ("prefix",), err.message("id"), err.message("en"))
                prefixes[prefix] = scode
        counter_keys: set[tuple[str, int]] = set()
        for ci, c in enumerate(ck.seq(s.get("counters"), sp + ("counters",))):
            cp = sp + ("counters", ci)
            ck.mapping(c, cp, COUNTER_KEYS, ("agency", "name", "number"))
            agency = str(c["agency"])
            if agency not in agency_codes:
                raise ck.fail(cp + ("agency",), f"instansi '{agency}' tidak ada di lokasi ini",
                              f"agency '{agency}' is not at this site")
            number = ck.integer(c, "number", cp, 1, 9999)
            assert number is not None
            if (agency, number) in counter_keys:
                raise ck.fail(cp + ("number",), f"loket nomor {number} ganda di instansi ini",
                              f"counter number {number} appears twice in this agency")
            counter_keys.add((agency, number))
            codes = [str(x) for x in ck.seq(c.get("services"), cp + ("services",))]
            for ki, scode in enumerate(codes):
                if scode not in service_codes:
                    raise ck.fail(cp + ("services", ki),
                                  f"layanan '{scode}' tidak ada di lokasi ini",
                                  f"service '{scode}' is not at this site")
            plan.counters.append((cp, agency, {
                "name": ck.text(c, "name", cp, L.NAME, required=True), "number": number,
                "zone": ck.text(c, "zone", cp, L.ZONE),
                "is_active": ck.boolean(c, "active", cp, True),
            }, codes))
        for ui, u in enumerate(ck.seq(s.get("users"), sp + ("users",))):
            up = sp + ("users", ui)
            ck.mapping(u, up, USER_KEYS, ("username", "role"))
            username = ck.text(u, "username", up, L.USERNAME, required=True) or ""
            if not _USERNAME.match(username):
                raise ck.fail(up + ("username",), "nama pengguna hanya huruf, angka, . _ @ -",
                              "a username may hold only letters, digits, . _ @ -")
            if username in usernames:
                err = DomainError("username_taken", username=username)
                raise ck.fail(up + ("username",), err.message("id"), err.message("en"))
            usernames.add(username)
            role = u["role"]
            if role not in ("admin", "manager", "officer"):
                raise ck.fail(up + ("role",), "peran harus admin, manager atau officer",
                              "the role must be admin, manager or officer")
            agency = u.get("agency")
            if agency is not None and str(agency) not in agency_codes:
                raise ck.fail(up + ("agency",), f"instansi '{agency}' tidak ada di lokasi ini",
                              f"agency '{agency}' is not at this site")
            if role == "officer" and agency is None:
                raise ck.fail(up, "petugas loket harus punya instansi (agency)",
                              "an officer needs an agency")
            plan.users.append((up, {
                "username": username, "full_name": ck.text(u, "full_name", up, L.NAME),
                "role": role, "agency": str(agency) if agency is not None else None,
                "all_sites": ck.boolean(u, "all_sites", up, False),
                "is_active": ck.boolean(u, "active", up, True)}))
        board_names: set[str] = set()
        for bi, b in enumerate(ck.seq(s.get("boards"), sp + ("boards",))):
            bp = sp + ("boards", bi)
            ck.mapping(b, bp, BOARD_KEYS, ("name",))
            name = ck.text(b, "name", bp, 100, required=True) or ""
            if name in board_names:
                raise ck.fail(bp + ("name",), f"papan '{name}' ganda di lokasi ini",
                              f"board '{name}' appears twice at this site")
            board_names.add(name)
            codes = [str(x) for x in ck.seq(b.get("agencies"), bp + ("agencies",))]
            for ki, acode in enumerate(codes):
                if acode not in agency_codes:
                    raise ck.fail(bp + ("agencies", ki), f"instansi '{acode}' tidak ada",
                                  f"agency '{acode}' does not exist")
            plan.boards.append((bp, {
                "name": name, "zone": ck.text(b, "zone", bp, L.ZONE),
                "layout": ck.text(b, "layout", bp, L.LAYOUT) or "landscape",
                "running_text": ck.text(b, "running_text", bp, L.LONG_TEXT),
                "is_active": ck.boolean(b, "active", bp, True)}, codes))
        _check_packages(ck, s, sp, plan, service_codes)
        plans.append(plan)
    return plans


def _check_packages(ck: _Checker, s: dict[str, Any], sp: Path_, plan: _Plan,
                    service_codes: dict[str, Path_]) -> None:
    """Service packages: named visits, their steps by service code (app/domain/visits.py)."""
    from app.domain.visits import check_new_plan

    codes_seen: set[str] = set()
    for pi, p in enumerate(ck.seq(s.get("packages"), sp + ("packages",))):
        pp = sp + ("packages", pi)
        ck.mapping(p, pp, PACKAGE_KEYS, ("code", "name", "services"))
        pcode = ck.code(p, "code", pp)
        if pcode in codes_seen:
            raise ck.fail(pp + ("code",), f"kode paket '{pcode}' ganda di lokasi ini",
                          f"package code '{pcode}' appears twice at this site")
        codes_seen.add(pcode)
        codes = [str(x) for x in ck.seq(p.get("services"), pp + ("services",))]
        if not codes:
            raise ck.fail(pp + ("services",), "paket perlu minimal satu layanan",
                          "a package needs at least one service")
        for ki, scode in enumerate(codes):
            if scode not in service_codes:
                raise ck.fail(pp + ("services", ki), f"layanan '{scode}' tidak ada di lokasi ini",
                              f"service '{scode}' is not at this site")
        with ck.at(pp + ("services",)):
            check_new_plan(codes)
        plan.packages.append((pp, {
            "code": pcode, "name": ck.text(p, "name", pp, L.NAME, required=True),
            "description": ck.text(p, "description", pp, L.LONG_TEXT),
            "is_active": ck.boolean(p, "active", pp, True)}, codes))


def _check_service(ck: _Checker, sv: Any, vp: Path_, always_open: bool) -> dict[str, Any]:
    ck.mapping(sv, vp, SERVICE_KEYS, ("code", "name", "prefix"))
    data: dict[str, Any] = {"code": ck.code(sv, "code", vp),
                            "name": ck.text(sv, "name", vp, L.NAME, required=True)}
    with ck.at(vp + ("prefix",)):
        data["prefix"] = numbering.validate_prefix(sv["prefix"])
    data["daily_quota"] = ck.integer(sv, "daily_quota", vp, 0, 100000, nullable=True)
    data["typical_minutes"] = ck.integer(sv, "typical_minutes", vp, 1, 480) \
        if "typical_minutes" in sv else 10
    with ck.at(vp + ("opening_hours",)):
        data["opening_hours"] = None if always_open else hours.validate_opening_hours(
            sv.get("opening_hours"))
    for key in SERVICE_TEXT:
        data[key] = ck.text(sv, key, vp, 5000 if key in ("requirements", "procedure") else
                            L.NAME if key in ("completion_time", "fee") else L.LONG_TEXT)
    for key, default in BOOKING_DEFAULTS.items():
        if isinstance(default, bool):
            data[key] = ck.boolean(sv, key, vp, default)
        elif key in sv:
            lo, hi = BOOKING_RANGES[key]
            data[key] = ck.integer(sv, key, vp, lo, hi)
        else:
            data[key] = default
    data["is_active"] = ck.boolean(sv, "active", vp, True)
    return data


# --- import ---------------------------------------------------------------------------------------


@dataclass
class Change:
    op: str  # "+" create, "~" update, "-" deactivate or remove
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.op} {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class ImportResult:
    changes: list[Change] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)

    def diff(self) -> str:
        return "\n".join(str(c) for c in self.changes)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _delta(obj: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if getattr(obj, k) != v}


def _detail(obj: Any, delta: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_show(getattr(obj, k))} → {_show(v)}" for k, v in delta.items())


def import_mall(session: Session, doc: Any, lines: LineMap | None = None, *,
                now: datetime | None = None, always_open: bool = False,
                passwords: dict[str, str] | None = None) -> ImportResult:
    """Check the document, then make the database match it; the caller commits or rolls back."""
    plans = check(doc, lines, always_open=always_open)
    lines = lines or LineMap()
    ctx = Ctx(session=session, now=now or datetime.now(UTC), actor=SYSTEM)
    result = ImportResult()
    for plan in plans:
        _apply_site(ctx, plan, lines, result, passwords or {})
    session.flush()
    return result


def _located(lines: LineMap, path: Path_, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DomainError as err:
        field_ = err.params.get("field") if err.code == "invalid_value" else None
        field_ = field_ or {"prefix_taken": "prefix", "prefix_used_today": "prefix",
                            "code_taken": "code", "username_taken": "username"}.get(err.code)
        where = path + (field_,) if field_ and path + (field_,) in lines.lines else path
        raise ConfigFileError(where, lines.line(where), err.message("id"),
                              err.message("en")) from None


@dataclass
class _Want:
    """One object as the file wants it: its match key, where it is written, its fields."""

    key: Any
    path: Path_
    fields: dict[str, Any]
    note: str = ""  # shown beside "+" when it is created


def _upsert(result: ImportResult, label: Callable[[Any], str], existing: dict[Any, Any],
            wanted: list[_Want], *, create: Callable[[_Want], Any],
            update: Callable[[Any, dict[str, Any], _Want], None],
            delta: Callable[[Any, _Want], dict[str, Any]] | None = None,
            detail: Callable[[Any, dict[str, Any]], str] = _detail) -> dict[Any, Any]:
    """Create what is missing and update what differs, noting each change; returns every
    object by key (existing ones and the new)."""
    out = dict(existing)
    for want in wanted:
        obj = existing.get(want.key)
        if obj is None:
            out[want.key] = create(want)
            result.changes.append(Change("+", label(want.key), want.note))
            continue
        changed = delta(obj, want) if delta else _delta(obj, want.fields)
        if changed:
            result.changes.append(Change("~", label(want.key), detail(obj, changed)))
            update(obj, changed, want)
    return out


def _retire(result: ImportResult, label: Callable[[Any], str], existing: dict[Any, Any],
            wanted: set[Any], retire: Callable[[Any], None], note: str = "nonaktif") -> None:
    """Deactivate (or remove) what the file no longer lists; inactive ones are left alone."""
    for key, obj in existing.items():
        if key not in wanted and getattr(obj, "is_active", True):
            result.changes.append(Change("-", label(key), note))
            retire(obj)


def _created_inactive(obj: Any, fields: dict[str, Any]) -> Any:
    """create_* services make active objects; a file may list one already switched off."""
    if not fields.get("is_active", True):
        obj.is_active = False
    return obj


def _without(fields: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in keys}


def _apply_site(ctx: Ctx, plan: _Plan, lines: LineMap, result: ImportResult,
                passwords: dict[str, str]) -> None:
    session = ctx.session
    code = plan.site["code"]
    fields = _without(plan.site, "code")
    site = session.scalar(sa.select(Site).where(Site.code == code))
    site = _upsert(
        result, lambda _k: f"site {code}", {code: site} if site else {},
        [_Want(code, plan.path, fields)],
        create=lambda w: _created_inactive(_located(lines, w.path, lambda: config.create_site(
            ctx, {"code": code, **_without(w.fields, "is_active")})), w.fields),
        update=lambda obj, d, w: _located(lines, w.path, lambda: config.update_site(
            ctx, obj.id, dict(d))))[code]
    site_id = site.id
    _apply_special_days(ctx, plan, result, site_id, code)

    # Agencies and their services; services leaving the file are switched off first, which
    # frees their prefixes for new services, and agencies leaving it last, once empty.
    agencies = _upsert(
        result, lambda k: f"agency {code}/{k}",
        {a.code: a for a in session.scalars(
            sa.select(Agency).where(Agency.site_id == site_id).order_by(Agency.id))},
        [_Want(d["code"], ap, _without(d, "code"), d["name"]) for ap, d in plan.agencies],
        create=lambda w: _created_inactive(_located(lines, w.path, lambda: config.create_agency(
            ctx, {"site_id": site_id, "code": w.key, **_without(w.fields, "is_active")})),
            w.fields),
        update=lambda obj, d, w: _located(lines, w.path, lambda: config.update_agency(
            ctx, obj.id, dict(d))))
    existing_services = {sv.code: sv for sv in session.scalars(
        sa.select(Service).where(Service.site_id == site_id).order_by(Service.id))}
    _retire(result, lambda k: f"service {code}/{k}", existing_services,
            {d["code"] for _vp, _a, d in plan.services},
            lambda sv: config.update_service(ctx, sv.id, {"is_active": False}))
    services = _upsert(
        result, lambda k: f"service {code}/{k}", existing_services,
        [_Want(d["code"], vp, {"agency_id": agencies[acode].id, **_without(d, "code")},
               f"{d['prefix']} {d['name']}") for vp, acode, d in plan.services],
        create=lambda w: _created_inactive(_located(lines, w.path, lambda: config.create_service(
            ctx, {"code": w.key, **_without(w.fields, "is_active")})), w.fields),
        update=lambda obj, d, w: _located(lines, w.path, lambda: config.update_service(
            ctx, obj.id, dict(d))))
    _retire(result, lambda k: f"agency {code}/{k}", agencies,
            {d["code"] for _ap, d in plan.agencies},
            lambda a: config.update_agency(ctx, a.id, {"is_active": False}))

    _apply_counters(ctx, plan, lines, result, code, agencies, services)
    _apply_users(ctx, plan, lines, result, site_id, agencies, passwords)
    _apply_boards(ctx, plan, result, site_id, code, agencies)
    _apply_packages(ctx, plan, lines, result, site_id, code, services)
    session.flush()


def _apply_special_days(ctx: Ctx, plan: _Plan, result: ImportResult, site_id: int,
                        code: str) -> None:
    session = ctx.session
    existing = {d.day: d for d in session.scalars(
        sa.select(SpecialDay).where(SpecialDay.site_id == site_id).order_by(SpecialDay.day))}

    def create(w: _Want) -> SpecialDay:
        row = SpecialDay(site_id=site_id, day=w.key, **w.fields)
        session.add(row)
        session.flush()
        config.audit(ctx, "create", "special_day", row.id, {"day": w.key.isoformat(), **w.fields})
        return row

    def update(row: SpecialDay, delta: dict[str, Any], w: _Want) -> None:
        row.ranges, row.note = w.fields["ranges"], w.fields["note"]
        config.audit(ctx, "update", "special_day", row.id, {"day": w.key.isoformat(), **delta})

    def remove(row: SpecialDay) -> None:
        config.audit(ctx, "delete", "special_day", row.id, {"day": row.day.isoformat()})
        session.delete(row)

    label: Callable[[Any], str] = lambda day: f"special_day {code}/{day}"  # noqa: E731
    _upsert(result, label, existing,
            [_Want(day, dp, {"ranges": ranges, "note": note}, note or "")
             for dp, day, ranges, note in plan.specials],
            create=create, update=update)
    _retire(result, label, existing, {day for _dp, day, _r, _n in plan.specials}, remove,
            note="dihapus")


def _apply_counters(ctx: Ctx, plan: _Plan, lines: LineMap, result: ImportResult, code: str,
                    agencies: dict[str, Agency], services: dict[str, Service]) -> None:
    """Counters, matched by agency and number."""
    agency_by_id = {a.id: c for c, a in agencies.items()}
    code_by_id = {sv.id: c for c, sv in services.items()}
    existing = {(agency_by_id.get(c.agency_id), c.number): c for c in ctx.session.scalars(
        sa.select(Counter).where(Counter.agency_id.in_([a.id for a in agencies.values()]))
        .order_by(Counter.id)).unique()}

    def delta(counter: Counter, w: _Want) -> dict[str, Any]:
        out = _delta(counter, _without(w.fields, "service_ids"))
        if sorted(x.id for x in counter.services) != sorted(w.fields["service_ids"]):
            out["service_ids"] = w.fields["service_ids"]
        return out

    def detail(counter: Counter, d: dict[str, Any]) -> str:
        text = _detail(counter, _without(d, "service_ids"))
        if "service_ids" in d:
            moved = "services " + " ".join(code_by_id.get(x.id, "?") for x in sorted(
                counter.services, key=lambda x: x.id)) + " → " + " ".join(
                code_by_id.get(i, "?") for i in d["service_ids"])
            text = ", ".join(x for x in (text, moved) if x)
        return text

    label: Callable[[Any], str] = lambda k: f"counter {code}/{k[0]}#{k[1]}"  # noqa: E731
    _upsert(result, label, existing,
            [_Want((acode, d["number"]), cp,
                   {**d, "service_ids": [services[x].id for x in codes]}, d["name"])
             for cp, acode, d, codes in plan.counters],
            create=lambda w: _created_inactive(_located(
                lines, w.path, lambda: config.create_counter(ctx, {
                    "agency_id": agencies[w.key[0]].id, **_without(w.fields, "is_active")})),
                w.fields),
            update=lambda obj, d, w: _located(lines, w.path, lambda: config.update_counter(
                ctx, obj.id, dict(d))),
            delta=delta, detail=detail)
    _retire(result, label, existing, {(acode, d["number"]) for _cp, acode, d, _c in plan.counters},
            lambda c: config.update_counter(ctx, c.id, {"is_active": False}))


def _apply_users(ctx: Ctx, plan: _Plan, lines: LineMap, result: ImportResult, site_id: int,
                 agencies: dict[str, Agency], passwords: dict[str, str]) -> None:
    """Users, matched by username; never deactivated for being absent from the file."""
    wanted = []
    for up, data in plan.users:
        role = data["role"]
        wanted.append(_Want(data["username"], up, {
            "full_name": data["full_name"], "role": role,
            "agency_id": agencies[data["agency"]].id if data["agency"] else None,
            "site_id": site_id if role == "manager" and not data["agency"]
            and not data["all_sites"] else None,
            "is_active": data["is_active"],
        }, role))
    existing = {u.username: u for u in ctx.session.scalars(
        sa.select(User).where(User.username.in_([w.key for w in wanted])))}

    def create(w: _Want) -> User:
        password = passwords.get(w.key) or secrets.token_urlsafe(9)
        user = _located(lines, w.path, lambda: config.create_user(ctx, {
            "username": w.key, "password": password, **_without(w.fields, "is_active")}))
        result.passwords[w.key] = password
        return _created_inactive(user, w.fields)

    _upsert(result, lambda k: f"user {k}", existing, wanted, create=create,
            update=lambda obj, d, w: _located(lines, w.path, lambda: config.update_user(
                ctx, obj.id, dict(d))))


def _apply_boards(ctx: Ctx, plan: _Plan, result: ImportResult, site_id: int, code: str,
                  agencies: dict[str, Agency]) -> None:
    """Display boards, matched by name."""
    session = ctx.session
    existing = {b.name: b for b in session.scalars(
        sa.select(DisplayBoard).where(DisplayBoard.site_id == site_id).order_by(DisplayBoard.id))}

    def create(w: _Want) -> DisplayBoard:
        board = DisplayBoard(site_id=site_id, name=w.key, **w.fields)
        session.add(board)
        session.flush()
        config.audit(ctx, "create", "display_board", board.id, {"name": w.key, **w.fields})
        return board

    def update(board: DisplayBoard, delta: dict[str, Any], _w: _Want) -> None:
        for k, v in delta.items():
            setattr(board, k, v)
        config.audit(ctx, "update", "display_board", board.id, delta)

    def retire(board: DisplayBoard) -> None:
        board.is_active = False
        config.audit(ctx, "update", "display_board", board.id, {"is_active": False})

    label: Callable[[Any], str] = lambda k: f"board {code}/{k}"  # noqa: E731
    _upsert(result, label, existing,
            [_Want(d["name"], bp, {**_without(d, "name"),
                                   "agency_ids": [agencies[c].id for c in codes]})
             for bp, d, codes in plan.boards],
            create=create, update=update)
    _retire(result, label, existing, {d["name"] for _bp, d, _c in plan.boards}, retire)


def _apply_packages(ctx: Ctx, plan: _Plan, lines: LineMap, result: ImportResult, site_id: int,
                    code: str, services: dict[str, Service]) -> None:
    from app.db.models import ServicePackage
    from app.services import packages

    existing = {p.code: p for p in ctx.session.scalars(
        sa.select(ServicePackage).where(ServicePackage.site_id == site_id))}
    label: Callable[[Any], str] = lambda k: f"package {code}/{k}"  # noqa: E731
    _upsert(result, label, existing,
            [_Want(d["code"], pp, {**_without(d, "code"),
                                   "service_ids": [services[c].id for c in codes]}, d["name"])
             for pp, d, codes in plan.packages],
            create=lambda w: _located(lines, w.path, lambda: packages.create_package(
                ctx, {"site_id": site_id, "code": w.key, **w.fields})),
            update=lambda obj, d, w: _located(lines, w.path, lambda: packages.update_package(
                ctx, obj.id, dict(d))))
    _retire(result, label, existing, {d["code"] for _pp, d, _c in plan.packages},
            lambda p: packages.update_package(ctx, p.id, {"is_active": False}))


def import_text(session: Session, text: str, **kwargs: Any) -> ImportResult:
    doc, lines = parse(text)
    return import_mall(session, doc, lines, **kwargs)


# --- the demo ---------------------------------------------------------------------------------


def load_mall(session: Session, doc: dict[str, Any], *, always_open: bool = False,
              passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Load a mall document (the demo) into the database; returns username -> password."""
    return import_mall(session, doc, always_open=always_open, passwords=passwords).passwords


def service_by_code(session: Session, code: str) -> Service:
    service = session.scalar(sa.select(Service).where(Service.code == code))
    assert service is not None
    return service

