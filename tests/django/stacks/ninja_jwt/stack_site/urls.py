"""The ninja-jwt README setup: NinjaExtraAPI at api/ with NinjaJWTDefaultController
(/api/token/pair, /api/token/refresh, /api/token/verify; no blacklist route, no slashes),
plus protected GET /api/me and POST /api/echo, and the test controls."""

import json

from django.urls import path
from ninja_extra import NinjaExtraAPI
from ninja_jwt.authentication import JWTAuth
from ninja_jwt.controller import NinjaJWTDefaultController
from stack_common import test_controls

api = NinjaExtraAPI(title="tessera ninja-jwt stack")
api.register_controllers(NinjaJWTDefaultController)


@api.get("/me", auth=JWTAuth())
def me(request):
    user = request.user
    return {"id": user.pk, "username": user.username, "email": user.email}


@api.post("/echo", auth=JWTAuth())
def echo(request):
    try:
        body = json.loads(request.body) if request.body else None
    except ValueError:
        return api.create_response(request, {"detail": "Body is not JSON."}, status=400)
    return {"user": request.user.username, "body": body}


urlpatterns = [path("api/", api.urls), *test_controls.mounted()]
