from contactd.cli.main import main

main()
