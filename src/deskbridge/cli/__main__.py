from deskbridge.cli.app import main

main()
