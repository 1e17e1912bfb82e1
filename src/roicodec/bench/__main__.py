from roicodec.bench import main

raise SystemExit(main())
