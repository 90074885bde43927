# Fynd som ändringarna avslutar (56):
#   026a0592d22022a2  unauthorized-access  statistikdatabas  erik.bjork  Las VO
#   06ed4fd726ab8913  unauthorized-access  statistikdatabas  erik.bjork  Las IFO
#   10a01e17c0755ca3  unauthorized-access  statistikdatabas  linnea.pettersson  Las IFO
#   164f43ecdf25c9fd  unauthorized-access  statistikdatabas  fredrik.holm  Las VO
#   16bed29996d4c235  unauthorized-access  statistikdatabas  johan.holmberg  Las IFO
#   1fcd22b17453cf85  unauthorized-access  statistikdatabas  tomas.jakobsson  Las IFO
#   2119e23990c972b6  unauthorized-access  statistikdatabas  linnea.pettersson  Las VO
#   28b622fa27ccd7db  unauthorized-access  statistikdatabas  maria.holmberg  Las IFO
#   29371304f15096f2  unauthorized-access  statistikdatabas  olof.jansson  Las IFO
#   39b569c7ff81b962  unauthorized-access  statistikdatabas  eva.isaksson  Las IFO
#   3c62db11cdfc121a  unauthorized-access  statistikdatabas  erik.bjork  Las GA
#   417fa6b56b2fb0bd  unauthorized-access  statistikdatabas  adm-statdb2  Las VO
#   438105c39bd3c0e9  unauthorized-access  statistikdatabas  ida.forsberg  Las GA
#   55caf6a917ed3592  unauthorized-access  statistikdatabas  maria.holmberg  Las GA
#   5cb7ac30f9f05aff  unauthorized-access  statistikdatabas  mikael.bergstrom  Las GA
#   60eb20d8709e82b0  unauthorized-access  statistikdatabas  agnes.wikstrom  Las VO
#   621a9e80d2b7e0cb  unauthorized-access  statistikdatabas  tomas.jakobsson  Las VO
#   644e378be71b6349  unauthorized-access  statistikdatabas  eva.gustafsson  Las GA
#   68832a999c69df6b  unauthorized-access  statistikdatabas  johan.lindstrom  Las GA
#   6f160c039be598af  unauthorized-access  statistikdatabas  ida.forsberg  Las VO
#   72350fb413158f87  unauthorized-access  statistikdatabas  eva.isaksson  Las GA
#   759c2e4517c26f97  unauthorized-access  statistikdatabas  elin.holm  Las VO
#   78526c50e31f3342  unauthorized-access  statistikdatabas  johan.holmberg  Las GA
#   7b441e7398f3cd3c  unauthorized-access  statistikdatabas  gustav.larsson  Las VO
#   7bc76c61212a9287  unauthorized-access  statistikdatabas  ida.forsberg  Las IFO
#   7d7a5bf200b1c81c  unauthorized-access  statistikdatabas  elin.holm  Las GA
#   7da1dc051b472d22  unauthorized-access  statistikdatabas  stefan.hansson  Las IFO
#   7e79cc499b63887e  unauthorized-access  statistikdatabas  fredrik.holm  Las GA
#   7f17cab5b22fb2c7  unauthorized-access  statistikdatabas  linnea.pettersson  Las GA
#   81b6384888f8e738  unauthorized-access  statistikdatabas  eva.isaksson  Las VO
#   89ae12b09b16c659  unauthorized-access  statistikdatabas  oskar.jansson  Las VO
#   8a03fe295d5ba119  unauthorized-access  statistikdatabas  malin.soderberg  Las GA
#   8b60f0c4d3a83e72  unauthorized-access  statistikdatabas  bjorn.nilsson  Las IFO
#   95540102e920e9de  unauthorized-access  statistikdatabas  stefan.hansson  Las GA
#   9b7719614781687e  unauthorized-access  statistikdatabas  emma.nystrom  Las GA
#   a01524e916a87460  unauthorized-access  statistikdatabas  gustav.larsson  Las IFO
#   b3cf72df572aeb7d  unauthorized-access  statistikdatabas  stefan.hansson  Las VO
#   b3d428e9a7431667  unauthorized-access  statistikdatabas  johan.lindstrom  Las VO
#   bb59f1cf6a642293  unauthorized-access  statistikdatabas  emma.nystrom  Las VO
#   bc6ac8c04c46c429  unauthorized-access  statistikdatabas  mikael.bergstrom  Las IFO
#   bee77bf6d267e7cd  unauthorized-access  statistikdatabas  mikael.larsson  Las GA
#   c05aa3acf16732e4  unauthorized-access  statistikdatabas  eva.gustafsson  Las IFO
#   c1cff127ebcd4f0e  unauthorized-access  statistikdatabas  mikael.larsson  Las IFO
#   d4a2189dacbccdd5  sod-conflict  statistikdatabas  adm-statdb2
#   db36ee0f4bd758e2  unauthorized-access  statistikdatabas  emma.nystrom  Las IFO
#   e19eb4b82d144a61  unauthorized-access  statistikdatabas  gustav.larsson  Las GA
#   e6f27ae094300c29  unauthorized-access  statistikdatabas  oskar.jansson  Las GA
#   e935a699e3fad80e  unauthorized-access  statistikdatabas  malin.soderberg  Las IFO
#   ea155152f1455d46  unauthorized-access  statistikdatabas  mikael.bergstrom  Las VO
#   ef93bc666d16acd3  unauthorized-access  statistikdatabas  agnes.wikstrom  Las IFO
#   f02ea86cd09f5303  unauthorized-access  statistikdatabas  olof.jansson  Las VO
#   f1517c690be7f638  unauthorized-access  statistikdatabas  tomas.jakobsson  Las GA
#   f60dac77001d996d  unauthorized-access  statistikdatabas  malin.soderberg  Las VO
#   f799fffb3bd7f12d  unauthorized-access  statistikdatabas  bjorn.nilsson  Las VO
#   fab63bed4ed9ee1c  unauthorized-access  statistikdatabas  eva.gustafsson  Las VO
#   fb72f66514c5de7c  unauthorized-access  statistikdatabas  johan.lindstrom  Las IFO
#
# Åtgärdsplan från behorig för Active Directory.
# Skriptet gör 10 ändringar av gruppmedlemskap (Remove-ADGroupMember, Add-ADGroupMember).
# Utan -Apply körs varje rad med -WhatIf: inget ändras, PowerShell visar vad som skulle ske.
# Kör med -Apply först när ändringarna är godkända.

param([switch]$Apply)

$ErrorActionPreference = 'Stop'
$WhatIf = -not $Apply
Import-Module ActiveDirectory

# Lägg till kontot fredrik.holm direkt i SG-Statdb-IFO-Las (ny grupp, som policyns mönster namnger)
New-ADGroup -Name 'SG-Statdb-IFO-Las' -SamAccountName 'SG-Statdb-IFO-Las' -GroupScope Global -GroupCategory Security -WhatIf:$WhatIf
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-IFO-Las' -Members 'fredrik.holm' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-IFO-Las'' -Members ''fredrik.holm''' }

# Lägg till kontot johan.holmberg direkt i SG-Statdb-VO-Las
Add-ADGroupMember -Identity 'SG-Statdb-VO-Las' -Members 'johan.holmberg' -WhatIf:$WhatIf

# Lägg till kontot bjorn.nilsson direkt i SG-Statdb-GA-Las (ny grupp, som policyns mönster namnger)
New-ADGroup -Name 'SG-Statdb-GA-Las' -SamAccountName 'SG-Statdb-GA-Las' -GroupScope Global -GroupCategory Security -WhatIf:$WhatIf
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-GA-Las' -Members 'bjorn.nilsson' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-GA-Las'' -Members ''bjorn.nilsson''' }

# Lägg till kontot maria.holmberg direkt i SG-Statdb-VO-Las
Add-ADGroupMember -Identity 'SG-Statdb-VO-Las' -Members 'maria.holmberg' -WhatIf:$WhatIf

# Lägg till kontot elin.holm direkt i SG-Statdb-IFO-Las (ny grupp, som policyns mönster namnger)
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-IFO-Las' -Members 'elin.holm' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-IFO-Las'' -Members ''elin.holm''' }

# Lägg till kontot olof.jansson direkt i SG-Statdb-GA-Las (ny grupp, som policyns mönster namnger)
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-GA-Las' -Members 'olof.jansson' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-GA-Las'' -Members ''olof.jansson''' }

# Lägg till kontot agnes.wikstrom direkt i SG-Statdb-GA-Las (ny grupp, som policyns mönster namnger)
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-GA-Las' -Members 'agnes.wikstrom' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-GA-Las'' -Members ''agnes.wikstrom''' }

# Lägg till kontot oskar.jansson direkt i SG-Statdb-IFO-Las (ny grupp, som policyns mönster namnger)
if ($Apply) { Add-ADGroupMember -Identity 'SG-Statdb-IFO-Las' -Members 'oskar.jansson' } else { Write-Output 'What if: Add-ADGroupMember -Identity ''SG-Statdb-IFO-Las'' -Members ''oskar.jansson''' }

# Ta bort gruppen SG-Controllers ur SG-Statdb-Alla
# Avslutar 54 fynd
Remove-ADGroupMember -Identity 'SG-Statdb-Alla' -Members 'SG-Controllers' -Confirm:$false -WhatIf:$WhatIf

# Ta bort kontot adm-statdb2 ur SG-Statdb-VO-Las
# Avslutar 2 fynd
Remove-ADGroupMember -Identity 'SG-Statdb-VO-Las' -Members 'adm-statdb2' -Confirm:$false -WhatIf:$WhatIf
