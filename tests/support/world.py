"""A small, known mall built through the real services, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Device, Service, Site, User
from app.services import auth, config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM

PASSWORD = "rahasia-123"


@dataclass
class World:
    site: Site
    dukcapil: Agency
    imigrasi: Agency
    ktp: Service  # prefix A, Dukcapil
    kk: Service  # prefix K, Dukcapil
    paspor: Service  # prefix P, Imigrasi
    c1: Counter  # Dukcapil, serves ktp + kk
    c2: Counter  # Dukcapil, serves ktp + kk
    c3: Counter  # Imigrasi, serves paspor
    admin: User
    manager: User  # whole site
    officer_d: User  # Dukcapil
    officer_i: User  # Imigrasi
    kiosk: Device
    kiosk_token: str
    tokens: dict[str, str] = field(default_factory=dict)


def build_world(session: Session, *, now: datetime, site_code: str = "mpp-uji",
                timezone: str = "Asia/Jakarta") -> World:
    ctx = Ctx(session=session, now=now, actor=SYSTEM)
    site = config.create_site(ctx, {"code": site_code, "name": "MPP Uji", "timezone": timezone,
                                    "address": None, "max_consecutive_priority": 3})
    d = config.create_agency(ctx, {"site_id": site.id, "code": f"DUK-{site_code}",
                                   "name": "Disdukcapil", "floor": "1", "zone": "A",
                                   "color": None})
    i = config.create_agency(ctx, {"site_id": site.id, "code": f"IMI-{site_code}",
                                   "name": "Imigrasi", "floor": "2", "zone": "B", "color": None})
    ktp = config.create_service(ctx, {"agency_id": d.id, "code": "KTP", "name": "Perekaman KTP-el",
                                      "prefix": "A", "typical_minutes": 8,
                                      "requirements": "Fotokopi KK", "fee": "Gratis"})
    kk = config.create_service(ctx, {"agency_id": d.id, "code": "KK", "name": "Kartu Keluarga",
                                     "prefix": "K", "typical_minutes": 10})
    paspor = config.create_service(ctx, {"agency_id": i.id, "code": "PAS", "name": "Paspor baru",
                                         "prefix": "P", "typical_minutes": 12, "daily_quota": 30,
                                         "fee": "Rp350.000"})
    c1 = config.create_counter(ctx, {"agency_id": d.id, "name": "Loket 1", "number": 1,
                                     "zone": "A", "service_ids": [ktp.id, kk.id]})
    c2 = config.create_counter(ctx, {"agency_id": d.id, "name": "Loket 2", "number": 2,
                                     "zone": "A", "service_ids": [ktp.id, kk.id]})
    c3 = config.create_counter(ctx, {"agency_id": i.id, "name": "Loket 3", "number": 3,
                                     "zone": "B", "service_ids": [paspor.id]})
    sfx = site_code
    admin = config.create_user(ctx, {"username": f"admin-{sfx}", "password": PASSWORD,
                                     "role": "admin", "full_name": "Admin"})
    manager = config.create_user(ctx, {"username": f"manajer-{sfx}", "password": PASSWORD,
                                       "role": "manager", "site_id": site.id,
                                       "full_name": "Manajer"})
    od = config.create_user(ctx, {"username": f"petugas-duk-{sfx}", "password": PASSWORD,
                                  "role": "officer", "agency_id": d.id,
                                  "full_name": "Petugas Dukcapil"})
    oi = config.create_user(ctx, {"username": f"petugas-imi-{sfx}", "password": PASSWORD,
                                  "role": "officer", "agency_id": i.id,
                                  "full_name": "Petugas Imigrasi"})
    token, token_hash = auth.new_device_token()
    kiosk = Device(site_id=site.id, kind="kiosk", name="Kiosk 1", token_hash=token_hash)
    session.add(kiosk)
    session.flush()
    return World(site=site, dukcapil=d, imigrasi=i, ktp=ktp, kk=kk, paspor=paspor, c1=c1, c2=c2,
                  c3=c3, admin=admin, manager=manager, officer_d=od, officer_i=oi, kiosk=kiosk,
                  kiosk_token=token)
