"""Flask extensions, created once and bound to the app in the factory."""

from flask_sqlalchemy import SQLAlchemy

from .models import Base

# The models are plain SQLAlchemy (models.py) so the domain layer and the scripts
# can use them without Flask; Flask-SQLAlchemy manages engines and sessions.
db = SQLAlchemy(metadata=Base.metadata)
