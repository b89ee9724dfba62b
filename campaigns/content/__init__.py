"""What a message says: the safe template engine, one function per kind of message, signed
links and UTM parameters. Knows nothing of the engine or delivery."""
