"""The tutorial's own views: login by email + password, logout that blacklists a refresh token.

Login answers {"access_token", "refresh_token"} (RefreshToken.for_user), 400 when a field is
missing, 401 {"detail": ...} for wrong credentials. Logout is AllowAny and runs no
authentication (an expired access header cannot block it): it reads "refresh_token" from the
body, blacklists it, answers 200 {"detail": "logged out"}, or 400 {"detail": ...}.
"""

from django.contrib.auth import authenticate, get_user_model
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken


def _text(data, key):
    value = data.get(key) if hasattr(data, "get") else None
    return value if isinstance(value, str) and value else None


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        email, password = _text(request.data, "email"), _text(request.data, "password")
        if email is None or password is None:
            return Response(
                {"detail": "email and password are required."}, status=status.HTTP_400_BAD_REQUEST
            )
        account = get_user_model().objects.filter(email__iexact=email).first()
        user = account and authenticate(request, username=account.username, password=password)
        if not user:
            return Response(
                {"detail": "Invalid email or password."}, status=status.HTTP_401_UNAUTHORIZED
            )
        refresh = RefreshToken.for_user(user)
        return Response({"access_token": str(refresh.access_token), "refresh_token": str(refresh)})


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        raw = _text(request.data, "refresh_token")
        if raw is None:
            return Response({"detail": "refresh_token is required."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            RefreshToken(raw).blacklist()
        except TokenError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": "logged out"})
