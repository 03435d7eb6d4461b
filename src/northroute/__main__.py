from northroute.cli import main

main()
