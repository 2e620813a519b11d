print("enclava-runtime")
