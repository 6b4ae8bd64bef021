"""The committed histories are sealed with this key (public: a test key only)."""

TEST_KEYRING = ("replay", {"replay": b"mailflip-replay-test-key-public!"})
