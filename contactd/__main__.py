from contactd.cli.main import main

if __name__ == "__main__":  # not when a spawned process (the what-if lab's) imports it
    main()
