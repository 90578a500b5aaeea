"""The discrete-event engine: the clock and its event heap, fixed-delay deadlines, and
named random streams. It knows nothing of fleets."""
