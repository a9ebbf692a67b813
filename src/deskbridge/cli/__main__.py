from deskbridge.cli.app import app

app()
