"""Field limits: the longest value each kind of field may hold.

One table for the API's schemas (app/api/schemas.py), the services and the mall-file import
(app/services/mallfile.py); the columns (app/db/models.py) are at least this wide.
"""

from __future__ import annotations

CODE = 32  # site, agency and service codes
NAME = 200  # names of sites, agencies, services; people's full names
PREFIX = 3  # a service's ticket prefix (app/domain/numbering.py)
TIMEZONE = 64
ADDRESS = 500
FLOOR = 50
ZONE = 50
COLOR = 16
LONG_TEXT = 500  # product, complaints, descriptions, running text, notes
NOTE = 200  # a special day's note
USERNAME = 64
PASSWORD = 256
PHONE = 32
LAYOUT = 20
VISIT_REQUEUE = 16
FREE_TEXT = 5000
