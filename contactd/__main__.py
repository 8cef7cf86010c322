from contactd.cli import main

main()
