"""Display board configuration (admin and managers of a whole site): /api/v1/boards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import CtxDep
from app.api.schemas import Id
from app.services import boards

router = APIRouter(prefix="/api/v1", tags=["display boards"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Zone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
RunningText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
AgencyIds = Annotated[list[Id], Field(max_length=200)]
Layout = Literal["landscape", "portrait"]


class BoardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: Id
    name: Name
    zone: Zone | None = None
    agency_ids: AgencyIds | None = None
    layout: Layout = "landscape"
    running_text: RunningText | None = None


class BoardUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    zone: Zone | None = None
    agency_ids: AgencyIds | None = None
    layout: Layout | None = None
    running_text: RunningText | None = None
    is_active: bool | None = None


class BoardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    name: str
    zone: str | None
    agency_ids: list[int] | None
    layout: str
    running_text: str | None
    is_active: bool
    #: Where a screen opens this board (add &token=... when the site requires device tokens).
    url: str = ""

    @classmethod
    def of(cls, board: object) -> BoardRead:
        out = cls.model_validate(board)
        out.url = f"/display/{out.id}"
        return out


@router.get("/boards", response_model=list[BoardRead])
def list_boards(ctx: CtxDep, site_id: Id | None = None, include_inactive: bool = False
                ) -> object:
    return [BoardRead.of(b) for b in boards.list_boards(ctx, site_id, include_inactive)]


@router.post("/boards", response_model=BoardRead, status_code=201)
def create_board(body: BoardCreate, ctx: CtxDep) -> object:
    return BoardRead.of(boards.create_board(ctx, body.model_dump()))


@router.get("/boards/{board_id}", response_model=BoardRead)
def get_board(board_id: Id, ctx: CtxDep) -> object:
    return BoardRead.of(boards.get_board(ctx, board_id))


@router.patch("/boards/{board_id}", response_model=BoardRead)
def update_board(board_id: Id, body: BoardUpdate, ctx: CtxDep) -> object:
    data = body.model_dump(exclude_unset=True)
    # null clears zone, agency_ids and running_text; it means "unchanged" for the rest.
    data = {k: v for k, v in data.items()
            if v is not None or k in ("zone", "agency_ids", "running_text")}
    return BoardRead.of(boards.update_board(ctx, board_id, data))


@router.delete("/boards/{board_id}", status_code=204)
def delete_board(board_id: Id, ctx: CtxDep) -> Response:
    boards.delete_board(ctx, board_id)
    return Response(status_code=204)
