from betex.cli.app import main

main()
