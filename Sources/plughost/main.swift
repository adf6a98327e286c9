print("plughost")
