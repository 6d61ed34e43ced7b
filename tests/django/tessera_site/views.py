"""The protected demo endpoints and registration, the same as the Rust reference backend."""

from django.contrib.auth import get_user_model
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
