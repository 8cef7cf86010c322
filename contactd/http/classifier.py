"""The supervisor's view of the case-type model: its state, its card and the corrections
staff have made since, so a supervisor sees how well contacts are sorted and when to
retrain."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from contactd.http import auth
from contactd.http.appkeys import CLASSIFIER, POOL
from contactd.services import classification
from contactd.store.staff import Role

routes = web.RouteTableDef()


@routes.get("/api/classifier")
@auth.require(Role.SUPERVISOR)
async def get_classifier(request: web.Request) -> web.Response:
    seen = await classification.overview(request.app[POOL], request.app.get(CLASSIFIER))
    last = seen.last_correction
    return web.json_response(
        {
            "state": seen.state,
            "model_file": str(seen.model_file) if seen.model_file else None,
            "card": dataclasses.asdict(seen.card) if seen.card else None,
            "corrections": {
                "total": seen.corrections,
                "of_classifier": seen.of_classifier,
                "last": last.isoformat() if last else None,
            },
        }
    )
