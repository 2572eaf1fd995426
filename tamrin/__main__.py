from tamrin.cli import main

raise SystemExit(main())
