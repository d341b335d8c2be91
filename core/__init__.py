"""The kernel of the notification service: what every app uses, importing no app."""
