"""Protected endpoints the DRF stacks add beside the package's own views.

EchoView is what replay tests call: it answers who the stack's own authentication (the
project's DEFAULT_AUTHENTICATION_CLASSES) says the caller is, and the JSON body it got, or 401.
"""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        return Response({"user": request.user.username, "body": request.data})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        user = request.user
        return Response({"id": user.pk, "username": user.username, "email": user.email})
