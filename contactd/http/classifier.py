"""The supervisor's view of the case-type model: its state, its card and the corrections
staff have made since, so a supervisor sees how well contacts are sorted and when to
retrain."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from contactd.http import auth
from contactd.http.appkeys import CLASSIFIER, POOL
from contactd.store import queries
from contactd.store.staff import Role

routes = web.RouteTableDef()


@routes.get("/api/classifier")
@auth.require(Role.SUPERVISOR)
async def get_classifier(request: web.Request) -> web.Response:
    model = request.app.get(CLASSIFIER)
    card = model.card if model else None
    [corrections] = await request.app[POOL].fetch(queries.get("corrections_summary"))
    return web.json_response(
        {
            "state": model.state if model else "off",
            "model_file": str(model.path) if model else None,
            "card": dataclasses.asdict(card) if card else None,
            "corrections": {
                "total": corrections["total"],
                "of_classifier": corrections["of_classifier"],
                "last": corrections["last"].isoformat() if corrections["last"] else None,
            },
        }
    )
