from podbench.cli import main

raise SystemExit(main())
