"""The protected demo endpoints and registration, the same as the Rust reference backend, and
the endpoints the local proxy's tests need (a large download, an upload, a header echo)."""

import hashlib

from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator
from rest_framework.views import APIView

User = get_user_model()


class HelloView(APIView):
    def get(self, request):
        return Response({"message": "Hello, World!"})


class MeView(APIView):
    def get(self, request):
        user = request.user
        return Response({"id": user.id, "username": user.username, "email": user.email})


class EchoView(APIView):
    def post(self, request):
        return Response({"echo": request.data, "user": request.user.username})


class RegisterSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(
        max_length=150,
        validators=[
            UnicodeUsernameValidator(),
            UniqueValidator(
                queryset=User.objects.all(),
                message="A user with that username already exists.",
            ),
        ],
    )
    email = serializers.EmailField()
    password = serializers.CharField(
        write_only=True, min_length=8, max_length=128, trim_whitespace=False
    )

    def create(self, validated_data):
        return User.objects.create_user(**validated_data)


class RegisterView(generics.CreateAPIView):
    # Registration needs no token; ignore any Authorization header entirely.
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = RegisterSerializer


# The local proxy's tests (crates/cli/tests/flows/proxy.rs): bodies larger than any buffer,
# both ways, and a view that echoes the request's headers as debug views and httpbin do.

_BLOCK = bytes(range(256)) * 256  # 64 KiB; byte i of a download is i % 256
_MAX_DOWNLOAD = 64 * 1024 * 1024


class DownloadView(APIView):
    """GET ?bytes=N: N bytes (at most 64 MiB), byte i being i % 256, streamed in 64 KiB chunks
    with a Content-Length."""

    def get(self, request):
        try:
            size = max(0, min(int(request.query_params.get("bytes", "0")), _MAX_DOWNLOAD))
        except ValueError:
            return Response({"bytes": "A whole number."}, status=400)

        def chunks():
            left = size
            while left > 0:
                piece = _BLOCK[: min(left, len(_BLOCK))]
                left -= len(piece)
                yield piece

        response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
        response["Content-Length"] = str(size)
        return response


class UploadView(APIView):
    """POST any body: its length and SHA-256, read in chunks (no size limit)."""

    def post(self, request):
        digest = hashlib.sha256()
        total = 0
        while True:
            chunk = request._request.read(65536)
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        return Response({"bytes": total, "sha256": digest.hexdigest(), "user": request.user.username})


class EchoHeadersView(APIView):
    """GET: the request's headers as the server received them, Authorization included."""

    def get(self, request):
        return Response({"headers": dict(request.headers)})
