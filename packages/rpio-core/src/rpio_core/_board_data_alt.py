# ruff: noqa: E501  (one aligned row per GPIO reads better than wrapped rows)
"""Alternate-function signal names of every GPIO, per register family (data only).

One string per GPIO, in GPIO order; the string holds that GPIO's ALT0, ALT1, ... names separated by
blanks, ``-`` marking a function the chip leaves unconnected (reserved). ``rpio_core.boards`` splits
them (``alt_function_name``) and ``tests/core/test_boards.py`` checks every row's length, the row
count against the chip's GPIO count, and the names against the reference tables.

Facts from the chip documentation as encoded in raspberrypi/utils ``pinctrl`` (BCM2835/6/7 and
BCM2711 FSEL names; RP1 FUNCSEL a0..a8 names). On RP1, a5 is SYS_RIO (the plain GPIO function:
RPIO's driver reports it as INPUT/OUTPUT), a6 PROC_RIO and a7 PIO; bank 0 is GPIO 0-27, bank 1
GPIO 28-33, bank 2 GPIO 34-53, and the RIO names carry the bank number then the offset in the bank.
"""

# BCM2835, BCM2836 and BCM2837 share one pin multiplexer: GPIO 0-53, ALT0-ALT5.
BCM2835_ALT = (
    # ALT0      ALT1        ALT2       ALT3           ALT4        ALT5
    "SDA0       SA5         PCLK       AVEOUT_VCLK    AVEIN_VCLK  -",  # 0
    "SCL0       SA4         DE         AVEOUT_DSYNC   AVEIN_DSYNC -",  # 1
    "SDA1       SA3         LCD_VSYNC  AVEOUT_VSYNC   AVEIN_VSYNC -",  # 2
    "SCL1       SA2         LCD_HSYNC  AVEOUT_HSYNC   AVEIN_HSYNC -",  # 3
    "GPCLK0     SA1         DPI_D0     AVEOUT_VID0    AVEIN_VID0  ARM_TDI",  # 4
    "GPCLK1     SA0         DPI_D1     AVEOUT_VID1    AVEIN_VID1  ARM_TDO",  # 5
    "GPCLK2     SOE_N_SE    DPI_D2     AVEOUT_VID2    AVEIN_VID2  ARM_RTCK",  # 6
    "SPI0_CE1_N SWE_N_SRW_N DPI_D3     AVEOUT_VID3    AVEIN_VID3  -",  # 7
    "SPI0_CE0_N SD0         DPI_D4     AVEOUT_VID4    AVEIN_VID4  -",  # 8
    "SPI0_MISO  SD1         DPI_D5     AVEOUT_VID5    AVEIN_VID5  -",  # 9
    "SPI0_MOSI  SD2         DPI_D6     AVEOUT_VID6    AVEIN_VID6  -",  # 10
    "SPI0_SCLK  SD3         DPI_D7     AVEOUT_VID7    AVEIN_VID7  -",  # 11
    "PWM0       SD4         DPI_D8     AVEOUT_VID8    AVEIN_VID8  ARM_TMS",  # 12
    "PWM1       SD5         DPI_D9     AVEOUT_VID9    AVEIN_VID9  ARM_TCK",  # 13
    "TXD0       SD6         DPI_D10    AVEOUT_VID10   AVEIN_VID10 TXD1",  # 14
    "RXD0       SD7         DPI_D11    AVEOUT_VID11   AVEIN_VID11 RXD1",  # 15
    "FL0        SD8         DPI_D12    CTS0           SPI1_CE2_N  CTS1",  # 16
    "FL1        SD9         DPI_D13    RTS0           SPI1_CE1_N  RTS1",  # 17
    "PCM_CLK    SD10        DPI_D14    I2CSL_SDA_MOSI SPI1_CE0_N  PWM0",  # 18
    "PCM_FS     SD11        DPI_D15    I2CSL_SCL_SCLK SPI1_MISO   PWM1",  # 19
    "PCM_DIN    SD12        DPI_D16    I2CSL_MISO     SPI1_MOSI   GPCLK0",  # 20
    "PCM_DOUT   SD13        DPI_D17    I2CSL_CE_N     SPI1_SCLK   GPCLK1",  # 21
    "SD0_CLK    SD14        DPI_D18    SD1_CLK        ARM_TRST    -",  # 22
    "SD0_CMD    SD15        DPI_D19    SD1_CMD        ARM_RTCK    -",  # 23
    "SD0_DAT0   SD16        DPI_D20    SD1_DAT0       ARM_TDO     -",  # 24
    "SD0_DAT1   SD17        DPI_D21    SD1_DAT1       ARM_TCK     -",  # 25
    "SD0_DAT2   TE0         DPI_D22    SD1_DAT2       ARM_TDI     -",  # 26
    "SD0_DAT3   TE1         DPI_D23    SD1_DAT3       ARM_TMS     -",  # 27
    "SDA0       SA5         PCM_CLK    FL0            -           -",  # 28
    "SCL0       SA4         PCM_FS     FL1            -           -",  # 29
    "TE0        SA3         PCM_DIN    CTS0           -           CTS1",  # 30
    "FL0        SA2         PCM_DOUT   RTS0           -           RTS1",  # 31
    "GPCLK0     SA1         RING_OCLK  TXD0           -           TXD1",  # 32
    "FL1        SA0         TE1        RXD0           -           RXD1",  # 33
    "GPCLK0     SOE_N_SE    TE2        SD1_CLK        -           -",  # 34
    "SPI0_CE1_N SWE_N_SRW_N -          SD1_CMD        -           -",  # 35
    "SPI0_CE0_N SD0         TXD0       SD1_DAT0       -           -",  # 36
    "SPI0_MISO  SD1         RXD0       SD1_DAT1       -           -",  # 37
    "SPI0_MOSI  SD2         RTS0       SD1_DAT2       -           -",  # 38
    "SPI0_SCLK  SD3         CTS0       SD1_DAT3       -           -",  # 39
    "PWM0       SD4         -          SD1_DAT4       SPI2_MISO   TXD1",  # 40
    "PWM1       SD5         TE0        SD1_DAT5       SPI2_MOSI   RXD1",  # 41
    "GPCLK1     SD6         TE1        SD1_DAT6       SPI2_SCLK   RTS1",  # 42
    "GPCLK2     SD7         TE2        SD1_DAT7       SPI2_CE0_N  CTS1",  # 43
    "GPCLK1     SDA0        SDA1       TE0            SPI2_CE1_N  -",  # 44
    "PWM1       SCL0        SCL1       TE1            SPI2_CE2_N  -",  # 45
    "SDA0       SDA1        SPI0_CE0_N -              -           SPI2_CE1_N",  # 46
    "SCL0       SCL1        SPI0_MISO  -              -           SPI2_CE0_N",  # 47
    "SD0_CLK    FL0         SPI0_MOSI  SD1_CLK        ARM_TRST    SPI2_SCLK",  # 48
    "SD0_CMD    GPCLK0      SPI0_SCLK  SD1_CMD        ARM_RTCK    SPI2_MOSI",  # 49
    "SD0_DAT0   GPCLK1      PCM_CLK    SD1_DAT0       ARM_TDO     -",  # 50
    "SD0_DAT1   GPCLK2      PCM_FS     SD1_DAT1       ARM_TCK     -",  # 51
    "SD0_DAT2   PWM0        PCM_DIN    SD1_DAT2       ARM_TDI     -",  # 52
    "SD0_DAT3   PWM1        PCM_DOUT   SD1_DAT3       ARM_TMS     -",  # 53
)

# BCM2711 (Pi 4, 400, CM4): GPIO 0-57, ALT0-ALT5.
BCM2711_ALT = (
    # ALT0      ALT1        ALT2       ALT3           ALT4             ALT5
    "SDA0       SA5         PCLK       SPI3_CE0_N     TXD2             SDA6",  # 0
    "SCL0       SA4         DE         SPI3_MISO      RXD2             SCL6",  # 1
    "SDA1       SA3         LCD_VSYNC  SPI3_MOSI      CTS2             SDA3",  # 2
    "SCL1       SA2         LCD_HSYNC  SPI3_SCLK      RTS2             SCL3",  # 3
    "GPCLK0     SA1         DPI_D0     SPI4_CE0_N     TXD3             SDA3",  # 4
    "GPCLK1     SA0         DPI_D1     SPI4_MISO      RXD3             SCL3",  # 5
    "GPCLK2     SOE_N_SE    DPI_D2     SPI4_MOSI      CTS3             SDA4",  # 6
    "SPI0_CE1_N SWE_N_SRW_N DPI_D3     SPI4_SCLK      RTS3             SCL4",  # 7
    "SPI0_CE0_N SD0         DPI_D4     I2CSL_CE_N     TXD4             SDA4",  # 8
    "SPI0_MISO  SD1         DPI_D5     I2CSL_SDI_MISO RXD4             SCL4",  # 9
    "SPI0_MOSI  SD2         DPI_D6     I2CSL_SDA_MOSI CTS4             SDA5",  # 10
    "SPI0_SCLK  SD3         DPI_D7     I2CSL_SCL_SCLK RTS4             SCL5",  # 11
    "PWM0_0     SD4         DPI_D8     SPI5_CE0_N     TXD5             SDA5",  # 12
    "PWM0_1     SD5         DPI_D9     SPI5_MISO      RXD5             SCL5",  # 13
    "TXD0       SD6         DPI_D10    SPI5_MOSI      CTS5             TXD1",  # 14
    "RXD0       SD7         DPI_D11    SPI5_SCLK      RTS5             RXD1",  # 15
    "-          SD8         DPI_D12    CTS0           SPI1_CE2_N       CTS1",  # 16
    "-          SD9         DPI_D13    RTS0           SPI1_CE1_N       RTS1",  # 17
    "PCM_CLK    SD10        DPI_D14    SPI6_CE0_N     SPI1_CE0_N       PWM0_0",  # 18
    "PCM_FS     SD11        DPI_D15    SPI6_MISO      SPI1_MISO        PWM0_1",  # 19
    "PCM_DIN    SD12        DPI_D16    SPI6_MOSI      SPI1_MOSI        GPCLK0",  # 20
    "PCM_DOUT   SD13        DPI_D17    SPI6_SCLK      SPI1_SCLK        GPCLK1",  # 21
    "SD0_CLK    SD14        DPI_D18    SD1_CLK        ARM_TRST         SDA6",  # 22
    "SD0_CMD    SD15        DPI_D19    SD1_CMD        ARM_RTCK         SCL6",  # 23
    "SD0_DAT0   SD16        DPI_D20    SD1_DAT0       ARM_TDO          SPI3_CE1_N",  # 24
    "SD0_DAT1   SD17        DPI_D21    SD1_DAT1       ARM_TCK          SPI4_CE1_N",  # 25
    "SD0_DAT2   -           DPI_D22    SD1_DAT2       ARM_TDI          SPI5_CE1_N",  # 26
    "SD0_DAT3   -           DPI_D23    SD1_DAT3       ARM_TMS          SPI6_CE1_N",  # 27
    "SDA0       SA5         PCM_CLK    -              MII_A_RX_ERR     RGMII_MDIO",  # 28
    "SCL0       SA4         PCM_FS     -              MII_A_TX_ERR     RGMII_MDC",  # 29
    "-          SA3         PCM_DIN    CTS0           MII_A_CRS        CTS1",  # 30
    "-          SA2         PCM_DOUT   RTS0           MII_A_COL        RTS1",  # 31
    "GPCLK0     SA1         -          TXD0           SD_CARD_PRES     TXD1",  # 32
    "-          SA0         -          RXD0           SD_CARD_WRPROT   RXD1",  # 33
    "GPCLK0     SOE_N_SE    -          SD1_CLK        SD_CARD_LED      RGMII_IRQ",  # 34
    "SPI0_CE1_N SWE_N_SRW_N -          SD1_CMD        RGMII_START_STOP -",  # 35
    "SPI0_CE0_N SD0         TXD0       SD1_DAT0       RGMII_RX_OK      MII_A_RX_ERR",  # 36
    "SPI0_MISO  SD1         RXD0       SD1_DAT1       RGMII_MDIO       MII_A_TX_ERR",  # 37
    "SPI0_MOSI  SD2         RTS0       SD1_DAT2       RGMII_MDC        MII_A_CRS",  # 38
    "SPI0_SCLK  SD3         CTS0       SD1_DAT3       RGMII_IRQ        MII_A_COL",  # 39
    "PWM1_0     SD4         -          SD1_DAT4       SPI0_MISO        TXD1",  # 40
    "PWM1_1     SD5         -          SD1_DAT5       SPI0_MOSI        RXD1",  # 41
    "GPCLK1     SD6         -          SD1_DAT6       SPI0_SCLK        RTS1",  # 42
    "GPCLK2     SD7         -          SD1_DAT7       SPI0_CE0_N       CTS1",  # 43
    "GPCLK1     SDA0        SDA1       -              SPI0_CE1_N       SD_CARD_VOLT",  # 44
    "PWM0_1     SCL0        SCL1       -              SPI0_CE2_N       SD_CARD_PWR0",  # 45
    "SDA0       SDA1        SPI0_CE0_N -              -                SPI2_CE1_N",  # 46
    "SCL0       SCL1        SPI0_MISO  -              -                SPI2_CE0_N",  # 47
    "SD0_CLK    -           SPI0_MOSI  SD1_CLK        ARM_TRST         SPI2_SCLK",  # 48
    "SD0_CMD    GPCLK0      SPI0_SCLK  SD1_CMD        ARM_RTCK         SPI2_MOSI",  # 49
    "SD0_DAT0   GPCLK1      PCM_CLK    SD1_DAT0       ARM_TDO          SPI2_MISO",  # 50
    "SD0_DAT1   GPCLK2      PCM_FS     SD1_DAT1       ARM_TCK          SD_CARD_LED",  # 51
    "SD0_DAT2   PWM0_0      PCM_DIN    SD1_DAT2       ARM_TDI          -",  # 52
    "SD0_DAT3   PWM0_1      PCM_DOUT   SD1_DAT3       ARM_TMS          -",  # 53
    "IR_IN      -           -          -              -                -",  # 54
    "-          -           -          -              -                -",  # 55
    "-          -           -          -              -                -",  # 56
    "-          -           -          -              -                -",  # 57
)

# RP1 (Pi 5, 500, CM5): GPIO 0-53, FUNCSEL a0-a8.
RP1_ALT = (
    # a0        a1            a2            a3            a4            a5         a6          a7          a8
    "SPI0_SIO3  DPI_PCLK      TXD1          SDA0          -             SYS_RIO00  PROC_RIO00  PIO0        SPI2_CE0",  # 0
    "SPI0_SIO2  DPI_DE        RXD1          SCL0          -             SYS_RIO01  PROC_RIO01  PIO1        SPI2_SIO1",  # 1
    "SPI0_CE3   DPI_VSYNC     CTS1          SDA1          IR_RX0        SYS_RIO02  PROC_RIO02  PIO2        SPI2_SIO0",  # 2
    "SPI0_CE2   DPI_HSYNC     RTS1          SCL1          IR_TX0        SYS_RIO03  PROC_RIO03  PIO3        SPI2_SCLK",  # 3
    "GPCLK0     DPI_D0        TXD2          SDA2          RI0           SYS_RIO04  PROC_RIO04  PIO4        SPI3_CE0",  # 4
    "GPCLK1     DPI_D1        RXD2          SCL2          DTR0          SYS_RIO05  PROC_RIO05  PIO5        SPI3_SIO1",  # 5
    "GPCLK2     DPI_D2        CTS2          SDA3          DCD0          SYS_RIO06  PROC_RIO06  PIO6        SPI3_SIO0",  # 6
    "SPI0_CE1   DPI_D3        RTS2          SCL3          DSR0          SYS_RIO07  PROC_RIO07  PIO7        SPI3_SCLK",  # 7
    "SPI0_CE0   DPI_D4        TXD3          SDA0          -             SYS_RIO08  PROC_RIO08  PIO8        SPI4_CE0",  # 8
    "SPI0_MISO  DPI_D5        RXD3          SCL0          -             SYS_RIO09  PROC_RIO09  PIO9        SPI4_SIO0",  # 9
    "SPI0_MOSI  DPI_D6        CTS3          SDA1          -             SYS_RIO010 PROC_RIO010 PIO10       SPI4_SIO1",  # 10
    "SPI0_SCLK  DPI_D7        RTS3          SCL1          -             SYS_RIO011 PROC_RIO011 PIO11       SPI4_SCLK",  # 11
    "PWM0_CHAN0 DPI_D8        TXD4          SDA2          AAUD_LEFT     SYS_RIO012 PROC_RIO012 PIO12       SPI5_CE0",  # 12
    "PWM0_CHAN1 DPI_D9        RXD4          SCL2          AAUD_RIGHT    SYS_RIO013 PROC_RIO013 PIO13       SPI5_SIO1",  # 13
    "PWM0_CHAN2 DPI_D10       CTS4          SDA3          TXD0          SYS_RIO014 PROC_RIO014 PIO14       SPI5_SIO0",  # 14
    "PWM0_CHAN3 DPI_D11       RTS4          SCL3          RXD0          SYS_RIO015 PROC_RIO015 PIO15       SPI5_SCLK",  # 15
    "SPI1_CE2   DPI_D12       DSI0_TE_EXT   -             CTS0          SYS_RIO016 PROC_RIO016 PIO16       -",  # 16
    "SPI1_CE1   DPI_D13       DSI1_TE_EXT   -             RTS0          SYS_RIO017 PROC_RIO017 PIO17       -",  # 17
    "SPI1_CE0   DPI_D14       I2S0_SCLK     PWM0_CHAN2    I2S1_SCLK     SYS_RIO018 PROC_RIO018 PIO18       GPCLK1",  # 18
    "SPI1_MISO  DPI_D15       I2S0_WS       PWM0_CHAN3    I2S1_WS       SYS_RIO019 PROC_RIO019 PIO19       -",  # 19
    "SPI1_MOSI  DPI_D16       I2S0_SDI0     GPCLK0        I2S1_SDI0     SYS_RIO020 PROC_RIO020 PIO20       -",  # 20
    "SPI1_SCLK  DPI_D17       I2S0_SDO0     GPCLK1        I2S1_SDO0     SYS_RIO021 PROC_RIO021 PIO21       -",  # 21
    "SD0_CLK    DPI_D18       I2S0_SDI1     SDA3          I2S1_SDI1     SYS_RIO022 PROC_RIO022 PIO22       -",  # 22
    "SD0_CMD    DPI_D19       I2S0_SDO1     SCL3          I2S1_SDO1     SYS_RIO023 PROC_RIO023 PIO23       -",  # 23
    "SD0_DAT0   DPI_D20       I2S0_SDI2     -             I2S1_SDI2     SYS_RIO024 PROC_RIO024 PIO24       SPI2_CE1",  # 24
    "SD0_DAT1   DPI_D21       I2S0_SDO2     MIC_CLK       I2S1_SDO2     SYS_RIO025 PROC_RIO025 PIO25       SPI3_CE1",  # 25
    "SD0_DAT2   DPI_D22       I2S0_SDI3     MIC_DAT0      I2S1_SDI3     SYS_RIO026 PROC_RIO026 PIO26       SPI5_CE1",  # 26
    "SD0_DAT3   DPI_D23       I2S0_SDO3     MIC_DAT1      I2S1_SDO3     SYS_RIO027 PROC_RIO027 PIO27       SPI1_CE1",  # 27
    "SD1_CLK    SDA4          I2S2_SCLK     SPI6_MISO     VBUS_EN0      SYS_RIO10  PROC_RIO10  -           -",  # 28
    "SD1_CMD    SCL4          I2S2_WS       SPI6_MOSI     VBUS_OC0      SYS_RIO11  PROC_RIO11  -           -",  # 29
    "SD1_DAT0   SDA5          I2S2_SDI0     SPI6_SCLK     TXD5          SYS_RIO12  PROC_RIO12  -           -",  # 30
    "SD1_DAT1   SCL5          I2S2_SDO0     SPI6_CE0      RXD5          SYS_RIO13  PROC_RIO13  -           -",  # 31
    "SD1_DAT2   GPCLK3        I2S2_SDI1     SPI6_CE1      CTS5          SYS_RIO14  PROC_RIO14  -           -",  # 32
    "SD1_DAT3   GPCLK4        I2S2_SDO1     SPI6_CE2      RTS5          SYS_RIO15  PROC_RIO15  -           -",  # 33
    "PWM1_CHAN2 GPCLK3        VBUS_EN0      SDA4          MIC_CLK       SYS_RIO20  PROC_RIO20  -           -",  # 34
    "SPI8_CE1   PWM1_CHAN0    VBUS_OC0      SCL4          MIC_DAT0      SYS_RIO21  PROC_RIO21  -           -",  # 35
    "SPI8_CE0   TXD5          PCIE_CLKREQ_N SDA5          MIC_DAT1      SYS_RIO22  PROC_RIO22  -           -",  # 36
    "SPI8_MISO  RXD5          MIC_CLK       SCL5          PCIE_CLKREQ_N SYS_RIO23  PROC_RIO23  -           -",  # 37
    "SPI8_MOSI  RTS5          MIC_DAT0      SDA6          AAUD_LEFT     SYS_RIO24  PROC_RIO24  DSI0_TE_EXT -",  # 38
    "SPI8_SCLK  CTS5          MIC_DAT1      SCL6          AAUD_RIGHT    SYS_RIO25  PROC_RIO25  DSI1_TE_EXT -",  # 39
    "PWM1_CHAN1 TXD5          SDA4          SPI6_MISO     AAUD_LEFT     SYS_RIO26  PROC_RIO26  -           -",  # 40
    "PWM1_CHAN2 RXD5          SCL4          SPI6_MOSI     AAUD_RIGHT    SYS_RIO27  PROC_RIO27  -           -",  # 41
    "GPCLK5     RTS5          VBUS_EN1      SPI6_SCLK     I2S2_SCLK     SYS_RIO28  PROC_RIO28  -           -",  # 42
    "GPCLK4     CTS5          VBUS_OC1      SPI6_CE0      I2S2_WS       SYS_RIO29  PROC_RIO29  -           -",  # 43
    "GPCLK5     SDA5          PWM1_CHAN0    SPI6_CE1      I2S2_SDI0     SYS_RIO210 PROC_RIO210 -           -",  # 44
    "PWM1_CHAN3 SCL5          SPI7_CE0      SPI6_CE2      I2S2_SDO0     SYS_RIO211 PROC_RIO211 -           -",  # 45
    "GPCLK3     SDA4          SPI7_MOSI     MIC_CLK       I2S2_SDI1     SYS_RIO212 PROC_RIO212 DSI0_TE_EXT -",  # 46
    "GPCLK5     SCL4          SPI7_MISO     MIC_DAT0      I2S2_SDO1     SYS_RIO213 PROC_RIO213 DSI1_TE_EXT -",  # 47
    "PWM1_CHAN0 PCIE_CLKREQ_N SPI7_SCLK     MIC_DAT1      TXD5          SYS_RIO214 PROC_RIO214 -           -",  # 48
    "SPI8_SCLK  SPI7_SCLK     SDA5          AAUD_LEFT     RXD5          SYS_RIO215 PROC_RIO215 -           -",  # 49
    "SPI8_MISO  SPI7_MOSI     SCL5          AAUD_RIGHT    VBUS_EN2      SYS_RIO216 PROC_RIO216 -           -",  # 50
    "SPI8_MOSI  SPI7_MISO     SDA6          AAUD_LEFT     VBUS_OC2      SYS_RIO217 PROC_RIO217 -           -",  # 51
    "SPI8_CE0   -             SCL6          AAUD_RIGHT    VBUS_EN3      SYS_RIO218 PROC_RIO218 -           -",  # 52
    "SPI8_CE1   SPI7_CE0      -             PCIE_CLKREQ_N VBUS_OC3      SYS_RIO219 PROC_RIO219 -           -",  # 53
)

#: register family -> its table
ALT_TABLES = {"bcm2835": BCM2835_ALT, "bcm2711": BCM2711_ALT, "rp1": RP1_ALT}

#: the marker of a reserved (unconnected) function in the rows above
RESERVED = "-"
