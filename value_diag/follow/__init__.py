"""Watch's engine: the run files followed (a follower each, the watch list of what a
directory or pattern stands for), what the loop waits on (file-system notifications, keys,
signals: the waker and the stopper), the open-file limit, and the loops that read, judge
and present. Commands (commands/watch.py) drive it; it draws through a Sink."""
