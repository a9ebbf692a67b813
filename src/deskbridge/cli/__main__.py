from deskbridge.cli.launch import main

main()
