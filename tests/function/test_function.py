print('todo'); raise SystemExit(77)
