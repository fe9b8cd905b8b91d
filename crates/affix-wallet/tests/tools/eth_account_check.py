"""Independent check of affix-wallet's Ethereum output with PyPI eth-account.

Reads a JSON document on stdin (written by tests/eth_account.rs) and checks, for every
key: the address eth-account computes from the secret; that eth-account recovers that
address from each of our EIP-191 and raw-hash signatures; that eth-account's own
signatures (RFC 6979, low s) are byte-identical to ours; and that eth-account's HD wallet
derives the same address from the same mnemonic, passphrase and path.

Exits non-zero with a message on the first mismatch, or if eth-account is missing.
"""

import json
import sys

try:
    from eth_account import Account
    from eth_account.messages import encode_defunct
except ImportError as error:  # the Rust test fails on a non-zero exit
    sys.exit(f"eth-account is not installed in this Python ({sys.executable}): {error}")


def check(condition, what):
    if not condition:
        sys.exit(f"MISMATCH: {what}")


def main():
    cases = json.load(sys.stdin)
    Account.enable_unaudited_hdwallet_features()
    checks = 0
    for key in cases["keys"]:
        address = key["address"]
        account = Account.from_key(bytes.fromhex(key["secret"]))
        check(account.address == address, f"address {account.address} != ours {address}")
        checks += 1

        if "mnemonic" in key:
            derived = Account.from_mnemonic(
                key["mnemonic"], passphrase=key["passphrase"], account_path=key["path"]
            )
            check(derived.address == address, f"HD {key['path']}: {derived.address} != {address}")
            checks += 1

        for message in key["messages"]:
            signature = bytes.fromhex(message["signature"])
            if "text" in message:
                signable = encode_defunct(text=message["text"])
            else:
                signable = encode_defunct(primitive=bytes.fromhex(message["hex"]))
            recovered = Account.recover_message(signable, signature=signature)
            check(recovered == address, f"EIP-191 recovered {recovered} != {address}")
            theirs = account.sign_message(signable).signature
            check(bytes(theirs) == signature, f"EIP-191 signature {theirs.hex()} != ours {signature.hex()}")
            checks += 2

        for item in key["hashes"]:
            message_hash = bytes.fromhex(item["hash"])
            signature = bytes.fromhex(item["signature"])
            recovered = Account._recover_hash(message_hash, signature=signature)
            check(recovered == address, f"raw hash recovered {recovered} != {address}")
            theirs = Account.unsafe_sign_hash(message_hash, account.key).signature
            check(bytes(theirs) == signature, f"raw hash signature {theirs.hex()} != ours {signature.hex()}")
            checks += 2

    print(f"eth-account: {checks} checks passed")


main()
