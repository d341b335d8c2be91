"""The contact registry: who a national identity number or organization number reaches, and how."""
