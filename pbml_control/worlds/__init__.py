"""The paper's toy worlds (Frans & Witkowski 2021, Sections on Numeric and Square worlds)."""
