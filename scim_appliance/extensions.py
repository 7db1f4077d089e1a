"""Flask extensions, created once and bound to the app in the factory."""

from flask_sqlalchemy import SQLAlchemy

from .models import Base

# The models are plain SQLAlchemy (models.py) so the domain layer and the scripts
# can use them without Flask; Flask-SQLAlchemy manages engines and sessions.
# expire_on_commit=False: a route renders the row it just committed; expiring it
# would cost a second SELECT per write for data we already hold.
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
