import ConvKit
print("convkit")
