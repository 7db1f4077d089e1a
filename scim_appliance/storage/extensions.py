"""Flask extensions, created once and bound to the app in the factory."""

import orjson
from flask_sqlalchemy import SQLAlchemy

from .models import Base


def _json_text(value) -> str:
    return orjson.dumps(value).decode("utf-8")


# The models are plain SQLAlchemy (models.py) so the domain layer and the scripts
# can use them without Flask; Flask-SQLAlchemy manages engines and sessions.
# expire_on_commit=False: a route renders the row it just committed; expiring it
# would cost a second SELECT per write for data we already hold.
# orjson for the JSON columns: decoding a stored user with the stdlib was 3-4% of a
# filter GET. Stored documents passed validation, so they hold no NaN and no integer
# beyond 64 bits, the two things orjson would write differently.
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False},
                engine_options={"json_serializer": _json_text,
                                "json_deserializer": orjson.loads})
