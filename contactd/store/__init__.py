"""The database: one module per noun, each with its SQL in sql/."""
