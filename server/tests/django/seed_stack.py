"""The seeds' Django stack (Django 4.2, DRF, simplejwt, allauth, dj-rest-auth), configured
as the seeds configure it, for the tests and the benchmark of `server import-django`.

    seed_stack.py fixture --database URL
        Migrates a new Django database at URL, creates the accounts the import tests check
        (every hasher of Django's default PASSWORD_HASHERS, a verified and an unverified
        address, a Google account, an inactive user, a superuser, an unusable password),
        signs one in through dj-rest-auth's login view for real simplejwt tokens, and prints
        JSON: the accounts with their passwords, the tokens, and the SIMPLE_JWT settings.

    seed_stack.py bulk --database URL --users N
        Migrates and fills a Django database with N users (addresses, some Google accounts)
        through the ORM's bulk_create: what the import benchmark reads.

URL: sqlite:///absolute/path/db.sqlite3 or postgres://user[:password]@host[:port]/name.
"""

import argparse
import json
import sys
import time
from urllib.parse import unquote, urlparse

import django
from django.conf import settings

# SIMPLE_JWT as the seeds set it (the contract's capture): HS512, access 60 min, refresh
# 7 days, signed with SECRET_KEY.
SECRET_KEY = "django-insecure-seed-stack-secret-key-for-import-tests-0123456789"


def database_settings(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if parsed.netloc:
            path = parsed.netloc + path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if parsed.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.path.lstrip("/"),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
        }
    sys.exit(f"unsupported database URL: {url}")


def configure(url):
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        SITE_ID=1,
        DATABASES={"default": database_settings(url)},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.sites",
            "rest_framework",
            "rest_framework.authtoken",
            "rest_framework_simplejwt.token_blacklist",
            "allauth",
            "allauth.account",
            "allauth.socialaccount",
            "allauth.socialaccount.providers.google",
            "dj_rest_auth",
            "dj_rest_auth.registration",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.ModelBackend",
            "allauth.account.auth_backends.AuthenticationBackend",
        ],
        # Django 4.2's default list, every one of which the import must verify.
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
            "django.contrib.auth.hashers.ScryptPasswordHasher",
        ],
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "rest_framework_simplejwt.authentication.JWTAuthentication",
            ],
        },
        REST_AUTH={"USE_JWT": True, "JWT_AUTH_HTTPONLY": False},
        SIMPLE_JWT={
            "ALGORITHM": "HS512",
            "SIGNING_KEY": SECRET_KEY,
            "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(minutes=60),
            "REFRESH_TOKEN_LIFETIME": __import__("datetime").timedelta(days=7),
        },
        ACCOUNT_EMAIL_VERIFICATION="optional",
        ACCOUNT_EMAIL_REQUIRED=False,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOGGING_CONFIG=None,
    )
    django.setup()


urlpatterns = []


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def user(username, email, password, hasher, **fields):
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    account = User(username=username, email=email or "", **fields)
    account.password = make_password(password, hasher=hasher)
    account.save()
    return account


def address(account, email, verified, primary=True):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=account, email=email, verified=verified, primary=primary)


def fixture(args):
    global urlpatterns
    from django.urls import include, path

    urlpatterns = [path("api/auth/", include("dj_rest_auth.urls"))]
    migrate()
    from allauth.socialaccount.models import SocialAccount
    from django.test import Client
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    password = "correct horse battery"
    accounts = {}

    def add(name, account):
        accounts[name] = {"id": account.pk, "password": password}

    alice = user("alice", "alice@example.com", password, "pbkdf2_sha256",
                 first_name="Alice", last_name="Liddell")
    address(alice, "alice@example.com", verified=True)
    # A second, unverified address that is not the primary one: not imported as the email.
    address(alice, "alice.old@example.com", verified=False, primary=False)
    add("alice", alice)

    bob = user("bob", "bob@example.com", password, "argon2")
    address(bob, "bob@example.com", verified=False)
    add("bob", bob)

    carol = user("carol", "carol@gmail.com", None, "pbkdf2_sha256")  # unusable password
    address(carol, "carol@gmail.com", verified=True)
    SocialAccount.objects.create(
        user=carol, provider="google", uid="108234567890123456789",
        extra_data={"email": "carol@gmail.com", "email_verified": True},
    )
    accounts["carol"] = {"id": carol.pk, "password": None}

    dave = user("dave", "dave@example.com", password, "pbkdf2_sha1", is_active=False)
    add("dave", dave)

    root = user("root", "root@example.com", password, "bcrypt_sha256",
                is_staff=True, is_superuser=True, last_login=timezone.now())
    address(root, "root@example.com", verified=True)
    add("root", root)

    erin = user("Erin", "", password, "scrypt")
    add("Erin", erin)

    # Signs alice in the way the seed's Next.js frontend does: dj-rest-auth's login view.
    response = Client().post(
        "/api/auth/login/",
        data={"username": "alice", "password": password},
        content_type="application/json",
    )
    if response.status_code != 200:
        sys.exit(f"login failed: {response.status_code} {response.content!r}")
    login = response.json()

    # A refresh token that was blacklisted (simplejwt's logout with the blacklist app).
    blacklisted = RefreshToken.for_user(alice)
    blacklisted.blacklist()

    json.dump(
        {
            "accounts": accounts,
            "access": login["access"],
            "refresh": login["refresh"],
            "blacklisted_refresh": str(blacklisted),
            "signing_key": SECRET_KEY,
            "algorithm": "HS512",
        },
        sys.stdout,
    )


def bulk(args):
    migrate()
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone

    # One real hash for everyone: hashing 100,000 passwords is not what is measured.
    hashed = make_password("correct horse battery", hasher="pbkdf2_sha256")
    now = timezone.now()
    started = time.time()
    batch = 5000
    for start in range(1, args.users + 1, batch):
        ids = range(start, min(start + batch, args.users + 1))
        User.objects.bulk_create(
            User(id=i, username=f"user{i}", email=f"user{i}@example.com", password=hashed,
                 first_name="First", last_name=f"Last{i}", date_joined=now)
            for i in ids
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user_id=i, email=f"user{i}@example.com", verified=i % 2 == 0,
                         primary=True)
            for i in ids
        )
        SocialAccount.objects.bulk_create(
            SocialAccount(user_id=i, provider="google", uid=f"google-{i}", extra_data={})
            for i in ids if i % 10 == 0
        )
    print(f"{args.users} users in {time.time() - started:.1f} s", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fixture", "bulk"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    configure(args.database)
    {"fixture": fixture, "bulk": bulk}[args.command](args)


if __name__ == "__main__":
    main()
