"""The Flask-Mail extension; its server is the local sink unless MAIL_SERVER says otherwise."""

from flask_mail import Mail

mail = Mail()
