@_exported import ConvKitCore
@_exported import ConvKitCPU
@_exported import ConvKitOpenCL
