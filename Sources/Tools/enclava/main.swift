print("enclava")
