from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from clinics.access import public
from portal.celery import app as celery_app


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@public
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer: 200 when the database and the broker answer, else 503."""
    checks = {"database": database_ok(), "broker": broker_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            **{k: "ok" if v else "down" for k, v in checks.items()},
        },
        status=200 if healthy else 503,
    )
