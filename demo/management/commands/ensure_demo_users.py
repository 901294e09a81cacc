import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from crm_core.roles import MARKETING, SALES

CREDENTIALS_FILE = settings.VAR_DIR / "demo-credentials.txt"
DEMO_USERS = (("admin", None), ("marketer", MARKETING), ("rep", SALES), ("rep2", SALES))


class Command(BaseCommand):
    help = (
        "Create the demo users (admin, marketer, rep, rep2) if they are missing, with one password "
        "from NURTURE_DEMO_PASSWORD or a random one, and print the credentials."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help="password for new users (default: random)")

    def handle(self, *args, password, **options):
        User = get_user_model()
        header = f"Demo users (log in at {settings.SITE_URL}/accounts/login/ or /admin/):\n"
        if CREDENTIALS_FILE.exists() and User.objects.filter(username="admin").exists():
            self.stdout.write(header + CREDENTIALS_FILE.read_text().split(":\n", 1)[-1])
            return
        password = password or os.environ.get("NURTURE_DEMO_PASSWORD", "") or secrets.token_urlsafe(9)
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@nurture.invalid", "is_staff": True}
            )
            if created:
                user.set_password(password)
                user.is_superuser = role is None
                user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
        CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
        text = header + "".join(
            f"  {name:<9} {role or 'superuser':<10} password: {password}\n" for name, role in DEMO_USERS
        )
        CREDENTIALS_FILE.write_text(text)
        self.stdout.write(text)
